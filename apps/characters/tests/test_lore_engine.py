"""The World Info engine, rule by rule, as SillyTavern documents each (no database: ``lore_activate`` is pure).

Each test builds the smallest book that shows one rule and would fail without it.
"""

import random

import pytest

from apps.characters.lore.engine import ScanMessage
from apps.characters.selectors import lore_activate


def words(text: str) -> int:
    return len(text.split())


def entry(entry_id: int, keys=(), content: str | None = None, **fields) -> dict:
    return {"id": entry_id, "keys": list(keys), "content": content or f"lore {entry_id}", **fields}


def book(*entries, book_id: str = "lb_test", **fields) -> dict:
    return {"id": book_id, "name": "Test book", "entries": list(entries), **fields}


def chat(*texts: str) -> list[ScanMessage]:
    return [ScanMessage(role="user" if i % 2 == 0 else "character", text=t, cursor=i + 1) for i, t in enumerate(texts)]


def activate(books, messages, *, state=None, turn=1, seed=0):
    return lore_activate(
        books=books if isinstance(books, list) else [books],
        messages=messages,
        state=state or {},
        turn=turn,
        count_tokens=words,
        rng=random.Random(seed),
    )


def fired(result) -> list[int]:
    return [item.entry_id for item in result.entries]


# --- keys -----------------------------------------------------------------------------------------------------
def test_a_plain_key_fires_case_insensitively_and_says_where_it_matched():
    result = activate(book(entry(1, ["Dragon"])), chat("hello", "I saw a DRAGON in the hills"))
    (hit,) = result.entries
    assert (hit.reason, hit.matched_key, hit.matched_cursor) == ("key", "Dragon", 2)
    assert "DRAGON" in hit.matched_text


def test_a_case_sensitive_key_ignores_other_cases():
    lore = book(entry(1, ["Rose"], case_sensitive=True), entry(2, ["Mark"], extensions={"case_sensitive": True}))
    assert fired(activate(lore, chat("a rose and a mark"))) == []
    assert fired(activate(lore, chat("Rose met Mark"))) == [1, 2]


def test_whole_word_keys_do_not_match_inside_other_words():
    lore = book(entry(1, ["cat"], extensions={"match_whole_words": True}), entry(2, ["cat"]))
    assert fired(activate(lore, chat("concatenate the strings"))) == [2]
    assert fired(activate(lore, chat("my cat, asleep"))) == [1, 2]


def test_a_regex_key_matches_with_its_own_flags():
    lore = book(entry(1, ["/dragons?\\s+fly/i"]), entry(2, ["/Queen/"]))
    result = activate(lore, chat("Dragons   FLY at dawn, said the queen"))
    assert fired(result) == [1]
    assert result.entries[0].matched_key == "/dragons?\\s+fly/i"


def test_use_regex_makes_every_key_a_pattern():
    lore = book(entry(1, ["colou?r"], use_regex=True), entry(2, ["colou?r"]))
    assert fired(activate(lore, chat("what colour is it"))) == [1]


def test_the_most_recent_matching_message_is_reported():
    result = activate(book(entry(1, ["moon"]), scan_depth=5), chat("the moon", "nothing", "the moon again"))
    assert result.entries[0].matched_cursor == 3


def test_a_key_never_matches_across_two_messages():
    assert fired(activate(book(entry(1, ["red moon"])), chat("it was red", "moon rose"))) == []


# --- secondary keys -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("logic", "text", "fires"),
    [
        ("and_any", "the king and the crown", True),
        ("and_any", "the king alone", False),
        ("and_all", "the king, the crown and the sword", True),
        ("and_all", "the king and the crown", False),
        ("not_any", "the king alone", True),
        ("not_any", "the king and the sword", False),
        ("not_all", "the king and the crown", True),
        ("not_all", "the king, the crown and the sword", False),
        (0, "the king and the crown", True),  # ST's numbers: AND ANY = 0
        (3, "the king and the crown", False),  # AND ALL = 3
        (2, "the king alone", True),  # NOT ANY = 2
        (1, "the king, the crown and the sword", False),  # NOT ALL = 1
    ],
)
def test_secondary_keys_follow_the_selective_logic(logic, text, fires):
    lore = book(entry(1, ["king"], secondary_keys=["crown", "sword"], selective=True, selective_logic=logic))
    result = activate(lore, chat(text))
    assert fired(result) == ([1] if fires else [])
    if fires:
        assert result.entries[0].reason == "secondary" and result.entries[0].matched_key == "king"


def test_st_extensions_selective_logic_is_read_when_the_card_field_is_absent():
    lore = book(entry(1, ["king"], secondary_keys=["crown"], selective=True, extensions={"selectiveLogic": 2}))
    assert fired(activate(lore, chat("the king and the crown"))) == []


def test_secondary_keys_are_ignored_when_the_entry_is_not_selective():
    lore = book(entry(1, ["king"], secondary_keys=["crown"], selective=False, selective_logic="and_all"))
    assert fired(activate(lore, chat("the king"))) == [1]


# --- scan depth -----------------------------------------------------------------------------------------------
def test_scan_depth_limits_how_far_back_keys_are_looked_for():
    lore = book(entry(1, ["sword"]), scan_depth=2)
    assert fired(activate(lore, chat("a sword", "hm", "ok"))) == []
    assert fired(activate(lore, chat("hm", "a sword", "ok"))) == [1]


def test_an_entry_scan_depth_overrides_the_book():
    lore = book(entry(1, ["sword"], extensions={"scan_depth": 3}), entry(2, ["sword"]), scan_depth=1)
    assert fired(activate(lore, chat("a sword", "hm", "ok"))) == [1]


def test_scan_depth_zero_scans_no_message_but_constants_still_fire():
    lore = book(entry(1, ["sword"]), entry(2, constant=True), scan_depth=0)
    assert fired(activate(lore, chat("a sword"))) == [2]


def test_the_default_scan_depth_is_sillytaverns_two_messages():
    assert fired(activate(book(entry(1, ["sword"])), chat("a sword", "hm", "ok"))) == []


# --- constant, enabled, probability ---------------------------------------------------------------------------
def test_constant_entries_fire_without_a_key():
    result = activate(book(entry(1, constant=True)), chat("anything"))
    assert [(e.reason, e.matched_key, e.matched_cursor) for e in result.entries] == [("constant", None, None)]


def test_disabled_entries_never_fire():
    lore = book(entry(1, ["x"], enabled=False), entry(2, constant=True, enabled=False))
    assert fired(activate(lore, chat("x"))) == []


def test_probability_zero_never_fires_and_a_hundred_always_does():
    lore = book(entry(1, ["x"], probability=0), entry(2, ["x"], probability=100))
    assert all(fired(activate(lore, chat("x"), seed=seed)) == [2] for seed in range(20))


def test_probability_draws_from_the_given_rng():
    lore = book(entry(1, ["x"], probability=50))
    outcomes = [bool(fired(activate(lore, chat("x"), seed=seed))) for seed in range(200)]
    assert 60 < sum(outcomes) < 140
    assert outcomes == [bool(fired(activate(lore, chat("x"), seed=seed))) for seed in range(200)]


def test_probability_is_off_when_st_use_probability_is_false():
    lore = book(entry(1, ["x"], extensions={"probability": 0, "useProbability": False}))
    assert fired(activate(lore, chat("x"))) == [1]


# --- order, position, budget ----------------------------------------------------------------------------------
def test_prompt_order_is_position_then_lower_insertion_order_first():
    lore = book(
        entry(1, constant=True, insertion_order=50, position="after_char"),
        entry(2, constant=True, insertion_order=200),
        entry(3, constant=True, insertion_order=10),
        entry(4, constant=True, insertion_order=5, position="after_char"),
    )
    result = activate(lore, chat("x"))
    assert fired(result) == [3, 2, 4, 1]
    assert [e.position for e in result.entries] == ["before_char", "before_char", "after_char", "after_char"]


def test_the_token_budget_keeps_higher_order_entries_and_trims_the_rest():
    lore = book(
        entry(1, ["x"], content="nine", insertion_order=10),
        entry(2, ["x"], content="four five six", insertion_order=300),
        entry(3, ["x"], content="seven eight", insertion_order=20),
        token_budget=4,
    )
    result = activate(lore, chat("x"))
    assert fired(result) == [2]
    # once the budget is exhausted nothing more of that book is added, even an entry that would fit
    assert [e.entry_id for e in result.trimmed] == [3, 1]


def test_constant_entries_are_budgeted_before_keyed_ones():
    keyed, constant = entry(1, ["x"], content="a b", insertion_order=999), entry(2, constant=True, content="c d")
    lore = book(keyed, constant, token_budget=2)
    result = activate(lore, chat("x"))
    assert fired(result) == [2] and [e.entry_id for e in result.trimmed] == [1]


def test_each_book_has_its_own_budget():
    first = book(entry(1, ["x"], content="a b c"), token_budget=3, book_id="lb_a")
    second = book(entry(1, ["x"], content="a b c"), token_budget=2, book_id="lb_b")
    result = activate([first, second], chat("x"))
    assert [e.book_id for e in result.entries] == ["lb_a"] and [e.book_id for e in result.trimmed] == ["lb_b"]


def test_ignore_budget_entries_always_fit():
    lore = book(entry(1, ["x"], content="a b c", extensions={"ignore_budget": True}), token_budget=1)
    assert fired(activate(lore, chat("x"))) == [1]


# --- recursion ------------------------------------------------------------------------------------------------
def test_activated_content_triggers_further_entries_by_recursion():
    lore = book(entry(1, ["dragon"], content="Dragons serve the queen."), entry(2, ["queen"], content="The queen."))
    result = activate(lore, chat("a dragon!"))
    assert [(e.entry_id, e.reason, e.matched_cursor) for e in result.entries] == [
        (1, "key", 2 - 1),
        (2, "recursion", None),
    ]


def test_recursion_is_off_when_the_book_says_so():
    lore = book(entry(1, ["dragon"], content="the queen"), entry(2, ["queen"]), recursive_scanning=False)
    assert fired(activate(lore, chat("a dragon"))) == [1]


def test_recursion_stops_at_the_step_limit():
    chain = [entry(i, [f"k{i}"], content=f"k{i + 1}") for i in range(1, 8)]
    result = activate(book(*chain, extensions={"max_recursion_steps": 2}), chat("k1"))
    assert fired(result) == [1, 2, 3]


def test_prevent_recursion_keeps_an_entrys_content_out_of_the_scan():
    lore = book(entry(1, ["dragon"], content="the queen", extensions={"prevent_recursion": True}), entry(2, ["queen"]))
    assert fired(activate(lore, chat("a dragon"))) == [1]


def test_exclude_recursion_entries_fire_from_the_chat_only():
    lore = book(entry(1, ["dragon"], content="the queen"), entry(2, ["queen"], extensions={"exclude_recursion": True}))
    assert fired(activate(lore, chat("a dragon"))) == [1]
    assert fired(activate(lore, chat("a dragon and the queen"))) == [1, 2]


def test_delay_until_recursion_entries_fire_only_in_a_recursion_pass():
    lore = book(
        entry(1, ["queen"], extensions={"delay_until_recursion": True}),
        entry(2, ["dragon"], content="dragons"),
    )
    assert fired(activate(lore, chat("the queen"))) == []
    assert sorted(fired(activate(lore, chat("the queen and a dragon")))) == [1, 2]


# --- inclusion groups -----------------------------------------------------------------------------------------
def test_only_one_entry_of_an_inclusion_group_fires():
    lore = book(*(entry(i, ["weather"], extensions={"group": "weather"}) for i in range(1, 4)))
    assert all(len(fired(activate(lore, chat("the weather"), seed=seed))) == 1 for seed in range(20))


def test_group_weights_decide_the_draw():
    lore = book(
        entry(1, ["weather"], extensions={"group": "weather", "group_weight": 1}),
        entry(2, ["weather"], extensions={"group": "weather", "group_weight": 99}),
    )
    winners = [fired(activate(lore, chat("the weather"), seed=seed))[0] for seed in range(200)]
    assert winners.count(2) > 170


def test_group_override_picks_the_highest_order_entry():
    lore = book(
        entry(1, ["weather"], insertion_order=10, extensions={"group": "weather", "group_override": True}),
        entry(2, ["weather"], insertion_order=50, extensions={"group": "weather", "group_override": True}),
        entry(3, ["weather"], insertion_order=90, extensions={"group": "weather", "group_weight": 10000}),
    )
    assert all(fired(activate(lore, chat("the weather"), seed=seed)) == [2] for seed in range(20))


def test_an_entry_in_several_groups_competes_in_each():
    lore = book(
        entry(1, ["x"], extensions={"group": "a, b", "group_override": True}),
        entry(2, ["x"], extensions={"group": "b"}),
        entry(3, ["x"], extensions={"group": "c"}),
    )
    assert fired(activate(lore, chat("x"))) == [1, 3]


# --- sticky, cooldown, delay ----------------------------------------------------------------------------------
def test_a_sticky_entry_stays_active_for_n_turns_after_firing():
    lore = book(entry(1, ["storm"], extensions={"sticky": 2}))
    first = activate(lore, chat("a storm"), turn=1)
    assert fired(first) == [1]
    second = activate(lore, chat("calm"), state=first.state, turn=2)
    third = activate(lore, chat("calm"), state=second.state, turn=3)
    fourth = activate(lore, chat("calm"), state=third.state, turn=4)
    assert [e.reason for e in second.entries] == ["sticky"] and fired(third) == [1] and fired(fourth) == []
    assert second.entries[0].matched_key is None


def test_a_sticky_entry_wins_its_group_and_skips_the_probability_draw():
    lore = book(
        entry(1, ["storm"], probability=100, extensions={"sticky": 3, "group": "g"}),
        entry(2, ["rain"], insertion_order=999, extensions={"group": "g", "group_override": True}),
    )
    first = activate(lore, chat("a storm"), turn=1)
    lore["entries"][0]["probability"] = 0  # a draw would now always fail
    second = activate(lore, chat("rain"), state=first.state, turn=2)
    assert fired(second) == [1] and second.entries[0].reason == "sticky"


def test_cooldown_blocks_an_entry_for_n_turns_after_it_fired():
    lore = book(entry(1, ["storm"], extensions={"cooldown": 2}))
    state, seen = {}, []
    for turn in range(1, 6):
        result = activate(lore, chat("a storm"), state=state, turn=turn)
        state, seen = result.state, [*seen, bool(result.entries)]
    assert seen == [True, False, False, True, False]


def test_cooldown_starts_when_the_sticky_turns_end():
    lore = book(entry(1, ["storm"], extensions={"sticky": 1, "cooldown": 1}))
    state, reasons = {}, []
    for turn in range(1, 5):
        result = activate(lore, chat("a storm"), state=state, turn=turn)
        state = result.state
        reasons.append(result.entries[0].reason if result.entries else None)
    assert reasons == ["key", "sticky", None, "key"]


def test_delay_keeps_an_entry_from_firing_before_turn_n():
    lore = book(entry(1, ["storm"], extensions={"delay": 3}))
    assert fired(activate(lore, chat("storm"), turn=2)) == []
    assert fired(activate(lore, chat("storm"), turn=3)) == [1]


def test_the_state_is_plain_json_and_forgets_finished_effects():
    import json

    lore = book(entry(1, ["storm"], extensions={"sticky": 1}))
    first = activate(lore, chat("storm"), turn=1)
    assert json.loads(json.dumps(first.state)) == first.state == {"lb_test:1": {"fired": 1, "sticky_until": 2}}
    assert activate(lore, chat("calm"), state=first.state, turn=5).state == {}


def test_trimmed_entries_start_no_timed_effect():
    lore = book(entry(1, ["storm"], content="a b c", extensions={"sticky": 5}), token_budget=1)
    result = activate(lore, chat("storm"))
    assert result.trimmed and result.state == {}


# --- several books, the trace ---------------------------------------------------------------------------------
def test_entries_of_several_books_are_merged_and_named_by_book():
    own = book(entry(1, ["x"], insertion_order=20, name="own entry"), book_id="lb_own")
    shared = book(entry(1, ["x"], insertion_order=10, comment="memo"), book_id="lb_shared")
    result = activate([own, shared], chat("x"))
    assert [(e.book_id, e.name) for e in result.entries] == [("lb_shared", "memo"), ("lb_own", "own entry")]


def test_as_dict_is_the_trace_shape():
    result = activate(book(entry(1, ["x"])), chat("x"))
    assert set(result.entries[0].as_dict()) == {
        "book_id",
        "book_name",
        "entry_id",
        "name",
        "content",
        "position",
        "insertion_order",
        "tokens",
        "reason",
        "matched_key",
        "matched_cursor",
        "matched_text",
    }


def test_no_books_activate_nothing():
    assert activate([], chat("x")).entries == []
