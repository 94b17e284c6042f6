"""Splitting a reply into chat bubbles. Pure functions."""

import re

MAX_BUBBLES = 4
_SENTENCE_END = re.compile(r"(?<=[.!?…。！？])\s+")


def bubbles_split(text: str) -> list[str]:
    """Ordered bubbles for ``text``: one per line, and a short paragraph split at sentence ends.

    Joining the bubbles with single spaces gives back the text's words in order; at most MAX_BUBBLES
    come back (later sentences are merged into the last bubble).
    """
    pieces: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            pieces.extend(sentence.strip() for sentence in _SENTENCE_END.split(line) if sentence.strip())
    if not pieces:
        return [text.strip()] if text.strip() else []
    if len(pieces) > MAX_BUBBLES:
        pieces = pieces[: MAX_BUBBLES - 1] + [" ".join(pieces[MAX_BUBBLES - 1 :])]
    return pieces
