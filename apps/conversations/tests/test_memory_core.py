"""Memory's pure core: the offline extractor's rules, the running summary, recall, and the prompt's budget fit."""

import pytest

from apps.conversations.memory.assembly import FACTS_HEADING, Part, prompt_fit, prompt_messages
from apps.conversations.memory.extraction import CurrentFact, Message, facts_extract, summary_fold
from apps.conversations.memory.recall import facts_rank


def _words(text: str) -> int:
    return len(text.split())


def _user(text: str, cursor: int = 1) -> Message:
    return Message(cursor, "user", text)


@pytest.mark.parametrize(
    ("said", "key", "fact"),
    [
        ("Hi! My name is Ana and I'm new here.", "user.name", "The user's name is Ana."),
        ("call me Rui Costa please", "user.name", "The user's name is Rui Costa."),
        ("My sister is called Mara.", "user.sister.name", "The user's sister is called Mara."),
        ("my dog's name is Rex", "user.dog.name", "The user's dog is called Rex."),
        ("I live in Lisbon, near the river.", "user.home", "The user lives in Lisbon."),
        ("I moved to Porto last year", "user.home", "The user lives in Porto last year."),
        ("I'm from Brazil!", "user.origin", "The user is from Brazil."),
        ("I work as a nurse at night", "user.job", "The user works as nurse at night."),
        ("I'm 34 years old", "user.age", "The user is 34 years old."),
        ("My favourite band is Muse.", "user.favourite.band", "The user's favourite band is Muse."),
        ("my birthday is on May 3", "user.birthday", "The user's birthday is on May 3."),
        ("I really love hiking.", "user.likes.hiking", "The user likes hiking."),
        ("I can't stand mornings", "user.likes.mornings", "The user dislikes mornings."),
        ("I have a cat", "user.has.cat", "The user has a cat."),
    ],
)
def test_each_offline_rule_turns_a_first_person_statement_into_a_keyed_fact(said, key, fact):
    changes = facts_extract(messages=[_user(said, cursor=7)], current=[])
    assert [(change.op, change.key, change.text, change.cursor) for change in changes] == [("add", key, fact, 7)]


def test_only_the_users_own_messages_state_facts():
    assert facts_extract(messages=[Message(1, "character", "My name is Luna and I live in Paris.")], current=[]) == []


def test_a_new_value_for_a_held_key_updates_that_fact_and_the_same_value_changes_nothing():
    held = [CurrentFact("fact_1", "user.home", "The user lives in Lisbon.")]
    assert facts_extract(messages=[_user("I live in Lisbon")], current=held) == []
    (change,) = facts_extract(messages=[_user("I moved to Porto", cursor=9)], current=held)
    assert (change.op, change.fact_id, change.text, change.cursor) == (
        "update",
        "fact_1",
        "The user lives in Porto.",
        9,
    )


def test_saying_a_like_is_over_closes_the_fact_and_a_like_born_and_gone_in_one_batch_leaves_nothing():
    held = [CurrentFact("fact_2", "user.likes.jazz", "The user likes jazz.")]
    (change,) = facts_extract(messages=[_user("I don't like jazz anymore")], current=held)
    assert (change.op, change.fact_id) == ("delete", "fact_2")
    batch = [_user("I love hiking", 1), _user("Honestly I no longer like hiking", 3)]
    assert facts_extract(messages=batch, current=[]) == []


def test_two_values_for_a_new_key_in_one_batch_add_the_last_one_only():
    changes = facts_extract(messages=[_user("I live in Lisbon", 1), _user("I live in Faro now", 5)], current=[])
    assert [(change.op, change.text, change.cursor) for change in changes] == [
        ("add", "The user lives in Faro now.", 5)
    ]


def test_the_summary_keeps_a_line_per_user_message_and_drops_its_oldest_lines_to_fit():
    messages = [_user(f"message number {index} about things", index) for index in range(1, 6)]
    folded = summary_fold(summary="User: an old line", messages=messages, max_tokens=12, count_tokens=_words)
    assert folded.splitlines() == ["User: message number 4 about things", "User: message number 5 about things"]
    assert summary_fold(summary="", messages=[Message(2, "character", "hi")], max_tokens=50, count_tokens=_words) == ""


def test_recall_ranks_facts_sharing_a_rare_word_first_and_leaves_out_unrelated_ones():
    facts = [
        "The user's sister is called Mara.",
        "The user lives in Porto.",
        "The user likes jazz music.",
        "The user likes rock music.",
    ]
    ranked = facts_rank(facts=facts, query="What was my sister called again?", limit=5)
    assert [item.index for item in ranked] == [0]
    ranked = facts_rank(facts=facts, query="any jazz music tonight?", limit=5)
    assert [item.index for item in ranked] == [2, 3]  # jazz is rarer than music
    assert facts_rank(facts=facts, query="hello there", limit=5) == []
    assert len(facts_rank(facts=facts, query="music", limit=1)) == 1


def _parts() -> list[Part]:
    return [
        Part("persona", "sheet", 50),
        Part("lore", "the castle lore", 10, position="after_char"),
        Part("emotion", "you feel calm", 10),
        Part("block", "likes tea", 10, label="prefs"),
        Part("fact", "best fact", 10, label="fact_a"),
        Part("fact", "worse fact", 10, label="fact_b"),
        Part("summary", "they met", 10),
        *(
            Part("history", f"m{index}", 10, role="user" if index % 2 else "character", cursor=index)
            for index in range(6)
        ),
    ]


def test_everything_is_kept_when_it_fits():
    fitted = prompt_fit(parts=_parts(), budget=10_000, count_tokens=_words)
    assert fitted.trimmed == [] and len(fitted.kept) == len(_parts()) and fitted.used <= 10_000


def test_over_budget_the_oldest_history_goes_first_then_summary_then_the_least_relevant_facts():
    full = prompt_fit(parts=_parts(), budget=10_000, count_tokens=_words).used
    fitted = prompt_fit(parts=_parts(), budget=full - 25, count_tokens=_words)
    assert [part.text for part in fitted.trimmed] == ["m0", "m1"]  # 14 tokens each with their framing
    assert fitted.used <= full - 25
    fitted = prompt_fit(parts=_parts(), budget=full - 95, count_tokens=_words)
    trimmed = [part.text for part in fitted.trimmed]
    assert trimmed[:5] == ["m0", "m1", "m2", "m3", "m4"]  # the newest message stays
    assert trimmed[5:] == ["they met", "worse fact"]
    assert "m5" in [part.text for part in fitted.kept]


def test_the_sheet_and_the_newest_message_are_never_trimmed_even_over_budget():
    fitted = prompt_fit(parts=_parts(), budget=1, count_tokens=_words)
    assert [part.source for part in fitted.kept] == ["persona", "history"]
    assert fitted.kept[-1].text == "m5"
    assert [part.source for part in fitted.trimmed][-3:] == ["block", "emotion", "lore"]


def test_the_messages_lay_out_lore_around_the_sheet_then_memory_then_history():
    parts = [Part("lore", "before", 1, position="before_char"), *_parts()]
    messages = prompt_messages(parts)
    texts = [message.content for message in messages]
    assert texts[:4] == ["before", "sheet", "the castle lore", "you feel calm"]
    assert texts[4].endswith("[prefs] likes tea")
    assert texts[5] == f"{FACTS_HEADING}\n- best fact\n- worse fact"
    assert texts[6].endswith("they met")
    assert [(message.role, message.content) for message in messages[7:9]] == [("assistant", "m0"), ("user", "m1")]
