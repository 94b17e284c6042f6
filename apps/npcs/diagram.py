"""A machine drawn as a Mermaid flowchart, for the admin's machine page (the browser renders it: no build step).

Pure: the engine's graph in, Mermaid text out. Writers name states and machines freely (``a-b``, ``end``,
``say "no"``), and Mermaid's grammar gives meaning to many characters (brackets, pipes, quotes, ``#`` and
``;``, ``end`` as a word), so no key or label ever reaches the text as it is written: nodes get generated
ids (``s0``, ``s1``...), and labels are quoted with every character outside a small safe set written as a
Mermaid entity code (``#34;`` for ``"``), which Mermaid turns back into the character when it draws.

How it reads: the initial state hangs off a small start dot and has a thick border; win and lose terminals
are green and red; an edge says its decision and score delta (``pass +2``), with ``⚙`` when a matcher can
decide it without the model. Rejects and redirects are dotted, kick-outs thick. Links to other machines,
when there are any, leave the terminal states whose outcome can satisfy them.
"""

from collections.abc import Iterable, Mapping

from apps.npcs.engine import LinkSpec, MachineGraph, TransitionSpec

MATCHER_MARK = "⚙"
ARROWS = {"pass": "-->", "reject": "-.->", "redirect": "-.->", "kick_out": "==>"}
CLASSES = (
    "classDef initial stroke-width:3px",
    "classDef win fill:#d8f3dc,stroke:#2d6a4f",
    "classDef lose fill:#ffd6d6,stroke:#9d0208",
    "classDef visited fill:#fff3bf,stroke:#e67700",
    "classDef link fill:#e7f5ff,stroke:#1c7ed6",
    "classDef startdot fill:#333,stroke:#333",
)
# Kept as written inside a quoted label; everything else becomes an entity code. Letters and digits of any
# script are safe (a Korean state name stays readable in the text too).
_SAFE_PUNCTUATION = frozenset(" -_.,!?'()+/*=@$~^")


def mermaid_label(text: str) -> str:
    """``text`` as a quoted Mermaid label that no character of it can break out of (newlines become spaces)."""
    flat = " ".join(str(text).split())
    return '"' + "".join(c if c.isalnum() or c in _SAFE_PUNCTUATION else f"#{ord(c)};" for c in flat) + '"'


def _edge_label(transition: TransitionSpec) -> str:
    parts = [transition.decision.replace("_", " ")]
    if transition.score_delta:
        parts.append(f"{transition.score_delta:+d}")
    if transition.matchers:
        parts.append(MATCHER_MARK)
    return " ".join(parts)


def _link_label(link: LinkSpec) -> str:
    if link.condition == "outcome":
        when = f"on {link.value}"
    elif link.condition == "score_gte":
        when = f"score >= {link.value}"
    elif link.condition == "score_lte":
        when = f"score <= {link.value}"
    else:
        when = "always"
    return f"unlocks {link.to_machine} ({when}{', auto' if link.auto_advance else ''})"


def _link_sources(link: LinkSpec, terminals: Mapping[str, str]) -> list[str]:
    """The terminal states (by key) whose ending can satisfy ``link``; a kick-out ends in no terminal."""
    if link.condition == "outcome":
        wanted = {"ACCEPT": "win", "REJECT": "lose"}.get(str(link.value).upper())
        return [key for key, kind in terminals.items() if kind == wanted]
    return list(terminals)


def machine_mermaid(graph: MachineGraph, *, names: Mapping[str, str] | None = None, visited: Iterable[str] = ()) -> str:
    """The Mermaid flowchart of ``graph``. ``names`` maps state keys to display names (shown as
    ``name (key)``); ``visited`` state keys are highlighted (the path a dry run took)."""
    names = names or {}
    ids = {key: f"s{index}" for index, key in enumerate(graph.states)}
    lines = ["flowchart LR"]
    for key, state in graph.states.items():
        name = names.get(key) or ""
        label = mermaid_label(f"{name} ({key})" if name and name != key else key)
        shape = f"(({label}))" if state.terminal else f"[{label}]"
        lines.append(f"    {ids[key]}{shape}")
    initial = graph.initial_state if graph.states else None
    if initial is not None and graph.states[initial].is_initial:
        lines.append(f'    init0((" ")) --> {ids[initial]}')
    for transition in graph.transitions:
        if transition.from_state not in ids or transition.to_state not in ids:
            continue  # a draft's half-made transition: nothing to draw it between
        arrow = ARROWS.get(transition.decision, "-->")
        label = mermaid_label(_edge_label(transition))
        lines.append(f"    {ids[transition.from_state]} {arrow}|{label}| {ids[transition.to_state]}")
    terminals = {key: state.terminal for key, state in graph.states.items() if state.terminal}
    for index, link in enumerate(graph.links):
        node = f"m{index}"
        lines.append(f"    {node}>{mermaid_label(_link_label(link))}]")
        lines.extend(f"    {ids[source]} -.- {node}" for source in _link_sources(link, terminals))
        lines.append(f"    class {node} link")
    lines.extend(f"    {line}" for line in CLASSES)
    if initial is not None and graph.states[initial].is_initial:
        lines.append("    class init0 startdot")
        lines.append(f"    class {ids[initial]} initial")
    for kind in ("win", "lose"):
        members = [ids[key] for key, terminal in terminals.items() if terminal == kind]
        if members:
            lines.append(f"    class {','.join(members)} {kind}")
    seen = [ids[key] for key in dict.fromkeys(visited) if key in ids and key not in terminals]
    if seen:
        lines.append(f"    class {','.join(seen)} visited")
    return "\n".join(lines) + "\n"
