"""The machine diagram's Mermaid text (no database): what it draws, and that no key or label a writer types
can break out of its quotes (the browser test renders it for real)."""

import re

from hypothesis import given
from hypothesis import strategies as st

from apps.npcs import engine
from apps.npcs.diagram import machine_mermaid, mermaid_label

ENTITY = re.compile(r"#(\d+);")
QUOTED = re.compile(r'"([^"]*)"')


def _safe(label: str) -> bool:
    """Only letters, digits, a few harmless marks and entity codes: nothing Mermaid's grammar reads."""
    return all(c.isalnum() or c in " -_.,!?'()+/*=@$~^" for c in ENTITY.sub("", label))


def _decoded(label: str) -> str:
    """What Mermaid shows for a quoted label: the entity codes turned back into characters."""
    return ENTITY.sub(lambda match: chr(int(match.group(1))), label)


def _graph(*states, transitions=(), links=()) -> engine.MachineGraph:
    return engine.MachineGraph(
        key="m",
        scoring_mode="scoring",
        states={state.key: state for state in states},
        transitions=tuple(transitions),
        links=tuple(links),
    )


def _haggle() -> engine.MachineGraph:
    return _graph(
        engine.StateSpec("greet", is_initial=True),
        engine.StateSpec("offer"),
        engine.StateSpec("deal", terminal="win"),
        engine.StateSpec("gone", terminal="lose"),
        transitions=[
            engine.TransitionSpec("t1", "greet", "offer", "pass", 2, matchers=(engine.KeywordsMatcher(("hi",)),)),
            engine.TransitionSpec("t2", "greet", "greet", "redirect"),
            engine.TransitionSpec("t3", "offer", "gone", "reject", -1),
            engine.TransitionSpec("t4", "offer", "deal", "pass", 5),
            engine.TransitionSpec("t5", "offer", "offer", "kick_out"),
        ],
        links=[engine.LinkSpec("m", "vault", "outcome", "ACCEPT", auto_advance=True)],
    )


def test_states_transitions_terminals_and_the_initial_state_are_drawn():
    text = machine_mermaid(_haggle(), names={"greet": "Greeting", "offer": "Offer"})
    lines = text.splitlines()

    assert lines[0] == "flowchart LR"
    assert '    s0["Greeting (greet)"]' in lines and '    s2(("deal"))' in lines and '    s3(("gone"))' in lines
    assert '    init0((" ")) --> s0' in lines
    assert '    s0 -->|"pass +2 #9881;"| s1' in lines  # decision, delta, the matcher mark (⚙, as its code)
    assert '    s0 -.->|"redirect"| s0' in lines
    assert '    s1 -.->|"reject -1"| s3' in lines
    assert '    s1 ==>|"kick out"| s1' in lines
    assert "    class s0 initial" in lines and "    class s2 win" in lines and "    class s3 lose" in lines
    # The link leaves the win state only: it unlocks on ACCEPT.
    assert '    m0>"unlocks vault (on ACCEPT, auto)"]' in lines
    assert "    s2 -.- m0" in lines and "    s3 -.- m0" not in lines


def test_the_dry_run_path_is_highlighted_but_terminals_keep_their_colour():
    text = machine_mermaid(_haggle(), visited=["greet", "offer", "greet", "deal"])
    assert "    class s0,s1 visited" in text.splitlines()


def test_odd_keys_and_labels_cannot_break_the_syntax():
    odd = ["a-b", "end", 'say "no"', "x]|y;#z", "<b>bold</b>", "two\nlines", "%%{init}%%", "`md`", "한국어"]
    graph = _graph(
        *(engine.StateSpec(key, is_initial=index == 0) for index, key in enumerate(odd)),
        engine.StateSpec("won", terminal="win"),
        transitions=[engine.TransitionSpec(str(i), key, "won", "pass") for i, key in enumerate(odd)],
    )
    text = machine_mermaid(graph, names={'say "no"': 'The "final" offer: [1] | 2; #3'})

    for line in text.splitlines()[1:]:
        # Outside the quotes, only generated ids, arrows and class statements; inside, no raw quote.
        outside = QUOTED.sub("", line)
        assert re.fullmatch(r"[\w ,#:()>\[\]|.\-=*]*", outside), line
        assert line.count('"') % 2 == 0, line
        assert all(_safe(label) for label in QUOTED.findall(line)), line
    labels = [_decoded(label) for label in QUOTED.findall(text)]
    assert 'The "final" offer: [1] | 2; #3 (say "no")' in labels
    assert {"a-b", "end", "x]|y;#z", "<b>bold</b>", "two lines", "%%{init}%%", "`md`", "한국어"} <= set(labels)
    assert "end" not in re.findall(r"^\s+(\w+)", text, re.MULTILINE)  # never a node id


@given(st.text(max_size=60))
def test_any_label_round_trips_through_its_quoting(text):
    label = mermaid_label(text)
    assert label.startswith('"') and label.endswith('"') and '"' not in label[1:-1]
    assert _safe(label[1:-1])
    assert _decoded(label[1:-1]) == " ".join(text.split())
