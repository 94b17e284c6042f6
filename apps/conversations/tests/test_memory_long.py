"""A long conversation on the scripted model: the prompt stays within its budget while an early fact is still
recalled at the end. 200 turns here; ``bench/memory.py`` runs 2,000 and prints the prompt sizes."""

import pytest

from apps.conversations import services
from apps.conversations.models import Run
from apps.conversations.tests.factories import session_start

pytestmark = pytest.mark.django_db

TOPICS = ["the weather", "my commute", "a film I saw", "dinner plans", "the gym", "a book", "work meetings"]


def filler(index: int) -> str:
    """An unremarkable user message that states no fact the extractor keeps."""
    topic = TOPICS[index % len(TOPICS)]
    return f"Turn {index}: nothing much, just thinking about {topic} and how the day went, honestly."


def test_two_hundred_turns_stay_within_the_budget_and_recall_a_fact_from_turn_three(
    owner, django_capture_on_commit_callbacks, settings
):
    settings.EMOTION_APPRAISER = "lexicon"
    settings.LLM_PROMPT_TOKENS = 700
    settings.LLM_TOKEN_MARGIN = 0.0
    settings.MEMORY_SUMMARY_TRIGGER_TOKENS = 250
    settings.MEMORY_SUMMARY_MAX_TOKENS = 200
    app = owner.api_key.app
    session = session_start(app)
    used = []
    for index in range(1, 201):
        text = "By the way, my sister is called Mara." if index == 3 else filler(index)
        with django_capture_on_commit_callbacks(execute=True):
            sent = services.message_send(app=app, session_id=session.id, text=text)
        context = Run.objects.get(pk=sent.run_ref).context
        assert context["budget"]["used"] <= context["budget"]["limit"] == 700
        used.append(context["budget"]["used"])
    with django_capture_on_commit_callbacks(execute=True):
        sent = services.message_send(app=app, session_id=session.id, text="Remind me, what is my sister called?")
    run = Run.objects.get(pk=sent.run_ref)
    assert "The user's sister is called Mara." in [fact["text"] for fact in run.context["facts"]]
    # flat once the budget is reached: the last hundred turns vary by no more than the window's churn
    late = used[100:]
    assert max(late) <= 700 and max(late) - min(late) < 250
