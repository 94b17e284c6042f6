"""Which facts matter for a message: a small lexical ranking, good enough for facts written as short sentences.

Each fact scores the sum, over the words it shares with the query, of that word's rarity among the facts
(a fact that shares a rare word with the message outranks one that shares a common one). Function words and
the words every extracted fact has ("user") count for nothing. Ties go to the newer fact.
"""

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

_FUNCTION_WORDS = """
    a an the and or but if of to in on at by for with from as is are was were be been being am do does did
    i me my mine you your yours he she it its we our they them their this that these those what which who whom
    whose when where why how not no so too very can could would should will shall may might must have has had
    just than then there here about into over under again also any some all each more most other such only own
    same s t don now user user's users remember know tell said say ok okay yes hi hello hey"""
_STOPWORDS = frozenset(_FUNCTION_WORDS.split())


def words(text: str) -> set[str]:
    """The content words of ``text``: lowercased, function words out, a plural's trailing s dropped."""
    found = set()
    for word in re.findall(r"[a-z0-9']+", text.lower()):
        word = word.strip("'")
        if word.endswith("'s"):
            word = word[:-2]
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        if word and word not in _STOPWORDS:
            found.add(word)
    return found


@dataclass(frozen=True)
class Recalled:
    index: int  # position in the facts given
    score: float


def facts_rank(*, facts: Sequence[str], query: str, limit: int) -> list[Recalled]:
    """The ``limit`` facts (of ``facts``, oldest first) that share the most telling words with ``query``, best
    first; facts sharing none are left out."""
    wanted = words(query)
    if not wanted or not facts or limit <= 0:
        return []
    bags = [words(fact) for fact in facts]
    frequency = Counter(word for bag in bags for word in bag)
    total = len(facts)
    scored = []
    for index, bag in enumerate(bags):
        shared = bag & wanted
        if shared:
            score = sum(math.log(1 + total / frequency[word]) for word in shared)
            scored.append(Recalled(index, round(score, 4)))
    scored.sort(key=lambda item: (-item.score, -item.index))
    return scored[:limit]
