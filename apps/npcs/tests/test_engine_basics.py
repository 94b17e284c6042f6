"""The step's decision table, matchers, unlocks and graph checks, without a database."""

import pytest

from apps.npcs.engine import (
    Evaluation,
    EvaluationInvalid,
    KeywordsMatcher,
    LinkSpec,
    MachineGraph,
    MachineResult,
    PlaythroughFinished,
    RegexMatcher,
    StateSpec,
    TransitionSpec,
    VariableMatcher,
    machines_available,
    matchers_evaluate,
    playthrough_initial,
    playthrough_step,
    states_dead_end,
    states_unreachable,
)


def _machine(mode="scoring", *, redirect_limit=2, links=()):
    states = {
        "greet": StateSpec("greet", is_initial=True, redirect_limit=redirect_limit),
        "haggle": StateSpec("haggle", redirect_limit=redirect_limit),
        "deal": StateSpec("deal", terminal="win"),
        "gone": StateSpec("gone", terminal="lose"),
    }
    transitions = (
        TransitionSpec(
            "g-pass",
            "greet",
            "haggle",
            "pass",
            score_delta=2,
            priority=1,
            matchers=(KeywordsMatcher(("hello", "c++")),),
        ),
        TransitionSpec("g-redirect", "greet", "greet", "redirect", score_delta=0, priority=2),
        TransitionSpec(
            "g-reject", "greet", "gone", "reject", score_delta=-3, priority=3, matchers=(RegexMatcher(r"\bgo away\b"),)
        ),
        TransitionSpec(
            "g-kick",
            "greet",
            "gone",
            "kick_out",
            score_delta=-10,
            priority=0,
            matchers=(VariableMatcher("insulted", "eq", True),),
        ),
        TransitionSpec("h-pass", "haggle", "deal", "pass", score_delta=5),
        TransitionSpec("h-reject", "haggle", "gone", "reject", score_delta=-1, priority=1),
    )
    return MachineGraph("market", mode, states, transitions, links)


def test_pass_moves_and_a_win_terminal_is_accept():
    machine = _machine(links=(LinkSpec("market", "vault", "outcome", "ACCEPT", auto_advance=True),))
    state = playthrough_initial(machine)
    first = playthrough_step(machine, state, Evaluation("pass"))
    assert (first.state.state_key, first.state.score, first.state.outcome) == ("haggle", 2, None)
    second = playthrough_step(machine, first.state, Evaluation(transition_key="h-pass"))
    assert (second.state.state_key, second.state.score, second.state.outcome) == ("deal", 7, "ACCEPT")
    assert second.machine_completed and second.unlocks[0].to_machine == "vault"
    with pytest.raises(PlaythroughFinished):
        playthrough_step(machine, second.state, Evaluation("pass"))


def test_reject_in_scoring_mode_is_a_penalty_then_the_pass_target():
    machine = _machine()
    result = playthrough_step(machine, playthrough_initial(machine), Evaluation("reject"))
    assert (result.state.state_key, result.state.score, result.state.outcome, result.decision) == (
        "haggle",
        -3,
        None,
        "reject",
    )
    assert [t.key for t in result.transitions_taken] == ["g-reject"]


def test_reject_in_pass_fail_mode_ends():
    machine = _machine("pass_fail")
    result = playthrough_step(machine, playthrough_initial(machine), Evaluation("reject"))
    assert (result.state.state_key, result.state.outcome) == ("gone", "REJECT")


def test_kick_out_stays_and_ends():
    machine = _machine()
    result = playthrough_step(machine, playthrough_initial(machine), Evaluation("kick_out"))
    assert (result.state.state_key, result.state.score, result.state.outcome) == ("greet", -10, "KICK_OUT")


def test_follow_up_changes_nothing():
    machine = _machine()
    state = playthrough_initial(machine)
    result = playthrough_step(machine, state, Evaluation("pass", follow_up=True))
    assert result.state == state and result.follow_up and result.decision is None


def test_redirects_count_per_state_and_past_the_limit_the_reject_fires():
    machine = _machine(redirect_limit=2)
    state = playthrough_initial(machine)
    for count in (1, 2):
        result = playthrough_step(machine, state, Evaluation("redirect"))
        state = result.state
        assert (state.state_key, result.redirect_count, result.decision) == ("greet", count, "redirect")
    result = playthrough_step(machine, state, Evaluation("redirect"))
    assert (result.decision, result.requested, result.state.state_key, result.state.score) == (
        "reject",
        "redirect",
        "haggle",
        -3,
    )
    assert result.state.redirect_counts == {"greet": 3} and result.redirect_count == 0


def test_a_redirect_past_the_limit_with_nowhere_to_go_ends():
    states = {"a": StateSpec("a", is_initial=True, redirect_limit=0), "b": StateSpec("b", terminal="win")}
    machine = MachineGraph("m", "scoring", states, (TransitionSpec("r", "a", "a", "redirect"),))
    result = playthrough_step(machine, playthrough_initial(machine), Evaluation("redirect"))
    assert result.state.outcome == "REJECT"


def test_evaluations_that_do_not_fit_are_refused():
    machine = _machine()
    state = playthrough_initial(machine)
    with pytest.raises(EvaluationInvalid):
        playthrough_step(machine, state, Evaluation(transition_key="h-pass"))
    with pytest.raises(EvaluationInvalid):
        playthrough_step(machine, state, Evaluation("kick_out", transition_key="g-pass"))
    with pytest.raises(EvaluationInvalid):
        playthrough_step(machine, state, Evaluation(None))


def test_matchers_first_by_priority():
    machine = _machine()
    assert matchers_evaluate(machine, "greet", "Well HELLO there").transition_key == "g-pass"
    assert matchers_evaluate(machine, "greet", "I know c++ well").transition_key == "g-pass"
    assert matchers_evaluate(machine, "greet", "othello") is None  # whole words only
    assert matchers_evaluate(machine, "greet", "hello, now go away").transition_key == "g-pass"
    # The kick_out (priority 0) matches on a variable before the keywords are looked at.
    assert matchers_evaluate(machine, "greet", "hello", {"insulted": False}).transition_key == "g-pass"
    assert matchers_evaluate(machine, "greet", "hello", {"insulted": True}).transition_key == "g-kick"
    # Extracted variables are model output: the text "True" compares equal to the boolean.
    assert matchers_evaluate(machine, "greet", "hello", {"insulted": "True"}).transition_key == "g-kick"
    assert matchers_evaluate(machine, "greet", "just GO AWAY").decision == "reject"


@pytest.mark.parametrize(
    ("op", "value", "actual", "expected"),
    [
        ("gte", 3, "4", True),
        ("lt", 3, 4, False),
        ("contains", "ring", "a Gold Ring", True),
        ("exists", None, "", False),
        ("ne", "x", None, True),
        ("eq", "Yes", " yes ", True),
    ],
)
def test_variable_comparisons(op, value, actual, expected):
    machine = MachineGraph(
        "m",
        "scoring",
        {"a": StateSpec("a", is_initial=True), "b": StateSpec("b", terminal="win")},
        (TransitionSpec("t", "a", "b", "pass", matchers=(VariableMatcher("v", op, value),)),),
    )
    assert (matchers_evaluate(machine, "a", "", {"v": actual}) is not None) is expected


def test_unlocks_and_availability():
    links = (
        LinkSpec("intro", "vault", "outcome", "ACCEPT"),
        LinkSpec("intro", "brawl", "score_lte", -5, auto_advance=True),
        LinkSpec("intro", "party", "score_gte", 10),
        LinkSpec("vault", "epilogue", "always"),
    )
    machines = [
        ("intro", False),
        ("vault", False),
        ("brawl", False),
        ("party", False),
        ("epilogue", True),
        ("side", False),
    ]
    assert machines_available(machines, links, {}) == ["intro", "epilogue", "side"]
    assert machines_available(machines, links, {"intro": MachineResult(None, 50)}) == ["intro", "epilogue", "side"]
    assert machines_available(machines, links, {"intro": MachineResult("ACCEPT", 12)}) == [
        "intro",
        "vault",
        "party",
        "epilogue",
        "side",
    ]
    assert machines_available(machines, links, {"intro": MachineResult("REJECT", -5)}) == [
        "intro",
        "brawl",
        "epilogue",
        "side",
    ]


def test_graph_checks():
    machine = _machine()
    assert states_unreachable(machine) == [] and states_dead_end(machine) == []
    states = {
        "a": StateSpec("a", is_initial=True),
        "b": StateSpec("b"),
        "island": StateSpec("island"),
        "end": StateSpec("end", terminal="lose"),
    }
    transitions = (
        TransitionSpec("1", "a", "b", "pass"),
        TransitionSpec("2", "a", "end", "reject"),
        TransitionSpec("3", "b", "b", "redirect"),
    )
    broken = MachineGraph("m", "scoring", states, transitions)
    assert states_unreachable(broken) == [
        "island",
    ] and states_dead_end(broken) == ["b", "island"]
