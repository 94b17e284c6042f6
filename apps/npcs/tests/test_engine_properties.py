"""Property tests of the transition step (hypothesis, no database) over random machines and evaluations:
the score moves only by the deltas of transitions taken, a terminal state is never left, unlocks follow the
link rules, the redirect limit always ends a redirect loop, and output variables change only when a machine
completes."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.npcs.engine import (
    DECISIONS,
    LINK_CONDITIONS,
    OUTCOMES,
    Evaluation,
    EvaluationInvalid,
    LinkSpec,
    MachineGraph,
    MachineResult,
    PlaythroughFinished,
    StateSpec,
    TransitionSpec,
    link_holds,
    machines_available,
    playthrough_initial,
    playthrough_step,
)

settings.register_profile("npc-engine", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("npc-engine")

MACHINE_KEYS = ("intro", "vault", "brawl", "party")


@st.composite
def links(draw, source="intro"):
    condition = draw(st.sampled_from(LINK_CONDITIONS))
    value = {
        "outcome": draw(st.sampled_from(OUTCOMES)),
        "score_gte": draw(st.integers(-20, 20)),
        "score_lte": draw(st.integers(-20, 20)),
        "always": None,
    }[condition]
    return LinkSpec(source, draw(st.sampled_from(MACHINE_KEYS[1:])), condition, value, draw(st.booleans()))


@st.composite
def machines(draw):
    count = draw(st.integers(2, 6))
    keys = [f"s{index}" for index in range(count)]
    states = {}
    for index, key in enumerate(keys):
        terminal = None if index == 0 else draw(st.sampled_from([None, None, "win", "lose"]))
        states[key] = StateSpec(key, is_initial=index == 0, terminal=terminal, redirect_limit=draw(st.integers(0, 3)))
    sources = [key for key in keys if states[key].terminal is None]
    transitions = tuple(
        TransitionSpec(
            f"t{index}",
            draw(st.sampled_from(sources)),
            draw(st.sampled_from(keys)),
            draw(st.sampled_from(DECISIONS)),
            score_delta=draw(st.integers(-5, 5)),
            priority=draw(st.integers(0, 3)),
        )
        for index in range(draw(st.integers(0, 10)))
    )
    mode = draw(st.sampled_from(("scoring", "pass_fail")))
    return MachineGraph("intro", mode, states, transitions, tuple(draw(st.lists(links(), max_size=4))))


def evaluations(machine):
    keys = [t.key for t in machine.transitions] or [None]
    return st.builds(
        Evaluation,
        decision=st.one_of(st.none(), st.sampled_from(DECISIONS)),
        transition_key=st.one_of(st.none(), st.sampled_from(keys)),
        follow_up=st.sampled_from([False, False, False, True]),
        variables=st.dictionaries(st.sampled_from(("name", "motive", "price")), st.text(max_size=5), max_size=2),
    )


@given(st.data())
def test_the_score_moves_by_the_deltas_taken_a_terminal_is_never_left_and_variables_wait_for_the_end(data):
    machine = data.draw(machines())
    state = playthrough_initial(machine, {"name": "Alex"})
    for evaluation in data.draw(st.lists(evaluations(machine), max_size=25)):
        try:
            result = playthrough_step(machine, state, evaluation)
        except EvaluationInvalid:
            continue
        except PlaythroughFinished:
            assert state.outcome is not None or machine.states[state.state_key].terminal is not None
            continue
        assert state.outcome is None and machine.states[state.state_key].terminal is None
        assert all(t.from_state == state.state_key for t in result.transitions_taken)
        assert result.state.score - state.score == sum(t.score_delta for t in result.transitions_taken)
        if machine.states[result.state.state_key].terminal is not None:
            assert result.state.outcome is not None
        if result.follow_up:
            assert result.state == state
        if result.machine_completed:
            assert result.state.variables == {**state.variables, **evaluation.variables}
        else:
            assert result.state.variables == state.variables
        state = result.state
    if state.outcome is not None:
        for evaluation in (Evaluation("pass"), Evaluation("redirect"), Evaluation(follow_up=True)):
            with pytest.raises(PlaythroughFinished):
                playthrough_step(machine, state, evaluation)


@given(st.data())
def test_unlocks_follow_the_link_rules(data):
    machine = data.draw(machines())
    state = playthrough_initial(machine)
    for evaluation in data.draw(st.lists(st.sampled_from([Evaluation(d) for d in DECISIONS]), max_size=15)):
        try:
            result = playthrough_step(machine, state, evaluation)
        except (EvaluationInvalid, PlaythroughFinished):
            continue
        if result.state.outcome is None:
            assert result.unlocks == ()
        else:
            expected = []
            for link in machine.links:
                if link.condition == "outcome":
                    holds = link.value == result.state.outcome
                elif link.condition == "score_gte":
                    holds = result.state.score >= link.value
                elif link.condition == "score_lte":
                    holds = result.state.score <= link.value
                else:
                    holds = True
                if holds:
                    expected.append(link)
            assert list(result.unlocks) == expected
        state = result.state


@given(
    st.lists(links(), max_size=6),
    st.dictionaries(
        st.sampled_from(MACHINE_KEYS),
        st.builds(MachineResult, st.one_of(st.none(), st.sampled_from(OUTCOMES)), st.integers(-20, 20)),
    ),
    st.sets(st.sampled_from(MACHINE_KEYS)),
)
def test_availability_follows_the_link_rules(all_links, results, entries):
    available = machines_available([(key, key in entries) for key in MACHINE_KEYS], all_links, results)
    for key in MACHINE_KEYS:
        incoming = [link for link in all_links if link.to_machine == key]
        unlocked = any(
            link.from_machine in results
            and results[link.from_machine].outcome is not None
            and link_holds(link, results[link.from_machine].outcome, results[link.from_machine].score)
            for link in incoming
        )
        assert (key in available) == (key in entries or not incoming or unlocked)


@given(st.data())
def test_the_redirect_limit_always_ends_a_loop(data):
    machine = data.draw(machines())
    state = playthrough_initial(machine)
    limit = machine.states[state.state_key].redirect_limit
    start = state.state_key
    for _ in range(limit + 1):
        result = playthrough_step(machine, state, Evaluation("redirect"))
        state = result.state
        if state.outcome is not None or state.state_key != start:
            break
    assert state.outcome is not None or state.state_key != start
