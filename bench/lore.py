"""Lorebook activation benchmark: ``lore_activate`` alone, in this process, no server, no Django.

Usage::

    .venv/bin/python bench/lore.py            # about 5 s
    .venv/bin/python bench/lore.py --quick    # about 1 s (noisier)

What is measured (single thread, CPython, after a warm-up; the compiled books come from the per-process cache
as they do on a turn): one activation over 20 recent messages of ~30 words for books of 10, 100 and 1,000
entries. The entries mix what real books hold: two plain keys each, one in five with a regex key, one in ten
whole-word, one in ten selective with secondary keys, a few constant, some in inclusion groups, some sticky,
recursion on. About one entry in twenty fires. Target: well under 1 ms for 100 entries x 20 messages.
Tokens are counted by whitespace so the tokenizer's cost is not in the figure.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apps.characters.lore.book import book_revision  # noqa: E402  (after the path setup; no Django needed)
from apps.characters.lore.engine import ScanMessage, lore_activate  # noqa: E402

TEXT = (
    "the quiet harbour town wakes before dawn while fishermen argue about weather and old debts "
    "someone mentions the lighthouse keeper again and a stranger asks about the northern road "
    "tea is served in chipped cups and nobody trusts the mayor since the flood last spring"
)
WORDS = TEXT.split()


def make_book(size: int, rng: random.Random) -> dict:
    entries = []
    for index in range(size):
        keys = [f"term{index}", f"alias{index}"]
        extensions: dict = {}
        if index % 5 == 0:
            keys.append(f"/name{index}\\s+\\w+/i")
        if index % 10 == 1:
            extensions["match_whole_words"] = True
        if index % 7 == 0:
            extensions["group"] = f"group{index % 3}"
        if index % 11 == 0:
            extensions["sticky"] = 2
        entry = {
            "id": index,
            "keys": keys,
            "content": f"Lore about term{index}: " + " ".join(rng.choices(WORDS, k=25)),
            "insertion_order": rng.randint(1, 200),
            "constant": index % 50 == 0,
            "extensions": extensions,
        }
        if index % 10 == 3:
            entry.update(selective=True, secondary_keys=[f"alias{index}", "harbour"], selective_logic="and_any")
        entries.append(entry)
    book = {"id": f"lb_bench_{size}", "name": f"bench {size}", "scan_depth": 20, "token_budget": 2000}
    book["entries"] = entries
    return {**book, "revision": book_revision(book)}  # resolved books carry it (the compile cache's key)


def make_messages(size: int, rng: random.Random) -> list[ScanMessage]:
    messages = []
    for index in range(20):
        words = rng.choices(WORDS, k=30)
        if index % 4 == 0:  # about one entry in twenty is mentioned
            words.append(f"term{rng.randrange(size)}")
        messages.append(ScanMessage("user" if index % 2 == 0 else "character", " ".join(words), index + 1))
    return messages


def measure(size: int, seconds: float) -> dict:
    rng = random.Random(size)
    books, messages = [make_book(size, rng)], make_messages(size, rng)
    state: dict = {}
    call_rng = random.Random(1)

    def once(turn: int) -> None:
        nonlocal state
        result = lore_activate(
            books=books, messages=messages, state=state, turn=turn, count_tokens=lambda t: len(t.split()), rng=call_rng
        )
        state = result.state

    for turn in range(20):  # warm-up (compiles the book once)
        once(turn)
    samples, turn, deadline = [], 20, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        once(turn)
        samples.append((time.perf_counter() - start) * 1e6)
        turn += 1
    last = lore_activate(
        books=books, messages=messages, state={}, turn=0, count_tokens=lambda t: len(t.split()), rng=random.Random(1)
    )
    return {
        "entries": size,
        "runs": len(samples),
        "median_us": statistics.median(samples),
        "p95_us": sorted(samples)[int(len(samples) * 0.95)],
        "fired": len(last.entries),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seconds = 0.3 if args.quick else 1.5
    print(f"lore_activate, 20 messages, Python {sys.version.split()[0]}")
    print(f"{'entries':>8} {'median µs':>10} {'p95 µs':>8} {'fired':>6} {'runs':>7}")
    for size in (10, 100, 1000):
        row = measure(size, seconds)
        print(f"{row['entries']:>8} {row['median_us']:>10.1f} {row['p95_us']:>8.1f} {row['fired']:>6} {row['runs']:>7}")


if __name__ == "__main__":
    main()
