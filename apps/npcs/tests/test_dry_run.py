"""The dry run: player lines played through a machine in memory, with what decided each step (a matcher, the
model through the fake OpenAI server, the fallback), on drafts too, and nothing written or metered."""

import pytest
from django.apps import apps as django_apps
from django.contrib.admin.utils import quote
from django.urls import reverse

from apps.accounts import services as accounts_services
from apps.accounts.models import UsageRecord
from apps.npcs import selectors, services
from apps.npcs.dry_run import MAX_LINES, dry_run_lines, machine_dry_run
from apps.npcs.errors import MachineNotAvailable
from apps.npcs.models import Machine, Playthrough
from apps.npcs.tests.test_services import _body

pytestmark = pytest.mark.django_db


@pytest.fixture
def haggle(owner) -> Machine:
    """greet (initial, one redirect allowed) -"hello"/"hi": pass +2-> offer -(model)-> deal (win) | gone (lose)."""
    npc = services.npc_save(app=owner.api_key.app, body=_body())
    return Machine.objects.get(npc=npc, key="haggle")


def _transition(machine: Machine, source: str, decision: str) -> str:
    return selectors.machine_graph(machine=machine).first(source, decision).key


def _written() -> tuple[int, int, int, int]:
    """Playthroughs, conversation sessions and events, usage records. (npcs sits below conversations, so its
    models are looked up by name rather than imported.)"""
    session, event = django_apps.get_model("conversations", "Session"), django_apps.get_model("conversations", "Event")
    return Playthrough.objects.count(), session.objects.count(), event.objects.count(), UsageRecord.objects.count()


def test_a_matcher_decides_without_the_model(haggle, fake_llm):
    run = machine_dry_run(machine=haggle, lines=["Hello there"])

    (step,) = run.steps
    assert (step.state_before, step.decision, step.transition, step.state_after) == (
        "greet",
        "pass",
        "greet -> offer",
        "offer",
    )
    assert (step.score, step.score_delta, step.outcome, step.redirect_count) == (2, 2, "", 0)
    assert (step.source, step.decided_by) == ("matcher", "keywords: hello, hi")
    assert run.model_calls == 0 and fake_llm.chat_requests == []


def test_the_model_decides_when_no_matcher_does_and_its_reason_is_shown(haggle, fake_llm):
    deal = _transition(haggle, "offer", "pass")
    fake_llm.queue_json({"transition_key": deal, "reason": "Forty gold is fair.", "variables": {"price": "40"}})

    run = machine_dry_run(machine=haggle, lines=["hi", "I offer forty gold"], player_name="Ada")

    step = run.steps[1]
    assert (step.state_before, step.decision, step.transition, step.state_after) == (
        "offer",
        "pass",
        "offer -> deal",
        "deal",
    )
    assert (step.score, step.outcome) == (7, "ACCEPT")
    assert (step.source, step.decided_by) == ("model", "Forty gold is fair.")
    assert step.variables == {"price": "40"}
    # One call, for the line no matcher decided, with the evaluation prompt a player's turn uses.
    assert run.model_calls == 1
    (request,) = fake_llm.chat_requests
    system = request.body["messages"][0]["content"]
    assert "Current state: offer" in system and f"transition_key={deal}" in system and "Ada" in system
    assert request.body["messages"][-1] == {"role": "user", "content": "I offer forty gold"}
    assert run.visited == ["greet", "offer", "deal"]


def test_an_answer_with_no_transition_is_the_fallback_redirect_and_past_the_limit_a_reject(haggle, fake_llm):
    # The fake model's usual JSON names no transition.
    run = machine_dry_run(machine=haggle, lines=["nice weather", "lovely clouds"])

    first, second = run.steps
    assert (first.source, first.decision, first.state_after, first.redirect_count) == (
        "fallback",
        "redirect",
        "greet",
        1,
    )
    assert first.decided_by == "No transition chosen; the player stays."
    # greet allows one redirect: the second is applied as the reject (scoring mode: -1, on to the pass target).
    assert (second.requested, second.decision, second.state_after, second.score) == ("redirect", "reject", "offer", -1)
    assert second.transition == "greet -> gone" and second.landed_elsewhere and not first.landed_elsewhere
    assert run.model_calls == 2


def test_lines_after_the_machine_ended_are_not_played(haggle, fake_llm):
    fake_llm.queue_json({"transition_key": _transition(haggle, "offer", "pass"), "reason": "Deal."})

    run = machine_dry_run(machine=haggle, lines=["hello", "fifty then", "and a bonus?", "hello?"])

    assert [step.played for step in run.steps] == [True, True, False, False]
    assert run.steps[2].decision == "" and run.final.outcome == "ACCEPT" and run.final.state_key == "deal"
    assert run.model_calls == 1


def test_a_model_error_is_a_row_and_the_run_stops_there(haggle, fake_llm):
    fake_llm.set_mode("fail")

    run = machine_dry_run(machine=haggle, lines=["hi", "forty?", "fifty?"])

    played, failed, after = run.steps
    assert played.played and played.source == "matcher"
    assert not failed.played and failed.state_before == "offer" and "llm_unavailable" in failed.error
    assert not after.played and after.error == ""
    assert run.model_calls == 1 and len(fake_llm.chat_requests) == 1
    assert run.final.state_key == "offer" and run.final.score == 2


def test_nothing_is_written_or_metered_and_a_draft_can_be_tried(haggle, fake_llm):
    draft = services.machine_publish(machine_id=haggle.id, published=False)
    before = _written()

    run = machine_dry_run(machine=draft, lines=["hi", "what do you think?"])

    assert [step.played for step in run.steps] == [True, True] and run.model_calls == 1
    assert _written() == before == (0, 0, 0, 0)
    assert Machine.objects.get(pk=haggle.pk).is_published is False


def test_a_machine_with_no_initial_state_cannot_be_run(owner):
    body = _body()
    body["machines"][0]["is_published"] = False
    for state in body["machines"][0]["states"]:
        state["is_initial"] = False
    npc = services.npc_save(app=owner.api_key.app, body=body)

    with pytest.raises(MachineNotAvailable):
        machine_dry_run(machine=Machine.objects.get(npc=npc, key="haggle"), lines=["hi"])


def test_a_run_reads_what_a_turn_reads_from_the_scenario_cache(haggle, fake_llm, django_assert_num_queries):
    def fresh() -> Machine:  # each admin request reads the machine row afresh
        return Machine.objects.select_related("npc__character__current_version").get(pk=haggle.pk)

    machine = fresh()
    # Cold: the states, the output variables, the transitions and the links, once; nothing a line.
    with django_assert_num_queries(4):
        machine_dry_run(machine=machine, lines=["hi"])
    machine = fresh()
    with django_assert_num_queries(0):
        machine_dry_run(machine=machine, lines=["hi"])
    # Lines for the model add the model catalog's read, once (then it is cached too), not once a line.
    with django_assert_num_queries(1):
        run = machine_dry_run(machine=machine, lines=["hi", "forty?", "fifty?", "sixty?"])
    assert run.model_calls == 3
    machine = fresh()
    with django_assert_num_queries(0):
        assert machine_dry_run(machine=machine, lines=["hi", "forty?"]).model_calls == 1


def test_pasted_lines_are_one_a_line_without_blanks():
    assert dry_run_lines("  hello \n\n\r\n second line\n") == ["hello", "second line"]


# -- the admin page ---------------------------------------------------------------------------------------


def _dry_run_url(machine: Machine) -> str:
    return reverse("admin:npcs_machine_dry_run", args=[quote(machine.pk)])


def test_the_machine_page_has_the_diagram_and_the_dry_run_form(admin_client, haggle):
    page = admin_client.get(reverse("admin:npcs_machine_change", args=[quote(haggle.pk)])).content.decode()

    assert 'class="npc-diagram"' in page and "flowchart LR" in page and "Greeting (greet)" in page
    assert "/static/vendor/mermaid/11.17.2/mermaid.min.js" in page
    assert f'action="{_dry_run_url(haggle)}"' in page and 'name="lines"' in page
    assert 'id="npc-unpublish"' in page  # published: the button takes it back to a draft


def test_the_admin_dry_run_shows_the_path_table(admin_client, haggle, fake_llm):
    fake_llm.queue_json({"transition_key": _transition(haggle, "offer", "pass"), "reason": "Fair enough."})
    before = _written()

    response = admin_client.post(_dry_run_url(haggle), {"lines": "hello\nforty gold\none more", "player_name": "Ada"})

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="npc-dry-run-result"' in page
    assert "keywords: hello, hi" in page and "Fair enough." in page and "greet -&gt; offer" in page
    assert "not played: the run had ended" in page and "ACCEPT" in page
    assert "1 model call, not metered" in page
    assert "class s0,s1 visited" in page  # the path in the diagram
    assert _written() == before


def test_the_admin_dry_run_refuses_bad_input_with_the_form_errors(admin_client, haggle):
    empty = admin_client.post(_dry_run_url(haggle), {"lines": "  \n \n"})
    assert empty.status_code == 400 and "Write at least one player line." in empty.content.decode()
    many = admin_client.post(_dry_run_url(haggle), {"lines": "hi\n" * (MAX_LINES + 1)})
    assert many.status_code == 400 and f"At most {MAX_LINES} lines" in many.content.decode()
    assert admin_client.get(_dry_run_url(haggle)).status_code == 405
    assert (
        admin_client.post(reverse("admin:npcs_machine_dry_run", args=["mach_missing"]), {"lines": "hi"}).status_code
        == 404
    )


def test_the_dry_run_needs_the_change_permission(client, django_user_model, owner, haggle):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_machine"))
    accounts_services.app_staff_bind(user=viewer, app=owner.api_key.app)  # staff bound to no app see no machines
    client.force_login(viewer)

    assert client.get(reverse("admin:npcs_machine_change", args=[quote(haggle.pk)])).status_code == 200
    assert client.post(_dry_run_url(haggle), {"lines": "hi"}).status_code == 403
    assert (
        client.post(reverse("admin:npcs_machine_publish", args=[quote(haggle.pk)]), {"published": "0"}).status_code
        == 403
    )
    assert Machine.objects.get(pk=haggle.pk).is_published is True
