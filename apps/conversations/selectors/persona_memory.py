"""Finding a persona's episodes by text (the persona API's ``memory/search``).

On PostgreSQL the episodes' text is matched with full-text search (English stemming; any of the query's words
may match) and ranked by ``ts_rank``. On the embedded SQLite default the newest ``SCAN_LIMIT`` episodes are
ranked by ``memory.recall.facts_rank``: the sum, over the content words an episode shares with the query, of
how rare each word is among them. Either way only episodes at or above ``min_importance`` count, ties go to
the newer episode, and episodes sharing no word with the query are left out.
"""

import operator
import re
from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING, Any

from django.db import connection

from apps.conversations.memory.recall import facts_rank
from apps.conversations.models import MemoryFact
from apps.personas import selectors as persona_selectors

if TYPE_CHECKING:
    from apps.accounts.models import App

SCAN_LIMIT = 2000
QUERY_TERMS = 32


@dataclass(frozen=True)
class PersonaEpisode:
    """An episode found: its id, the event's text, its fields (type, sourceEntity, appraisal, importance...) and
    how well it matched."""

    id: str
    text: str
    data: dict[str, Any]
    score: float


def persona_episodes_search(
    *, app: "App", persona_id: str, query: str, top_k: int, min_importance: float = 0.0
) -> list[PersonaEpisode]:
    """The ``top_k`` episodes of the app's persona that best match ``query``, best first. Raises
    PersonaNotFound like every persona read."""
    persona = persona_selectors.persona_api_get(app=app, persona_id=persona_id)
    episodes = MemoryFact.objects.filter(memory__persona_id=persona.pk, kind=MemoryFact.Kind.EPISODE)
    if min_importance > 0:
        episodes = episodes.filter(data__importance__gte=min_importance)
    terms = re.findall(r"\w+", query.lower())[:QUERY_TERMS]
    if not terms:
        return []
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

        wanted = reduce(operator.or_, (SearchQuery(term, config="english") for term in terms))
        ranked = (
            episodes.annotate(rank=SearchRank(SearchVector("text", config="english"), wanted))
            .filter(rank__gt=0)
            .order_by("-rank", "-valid_from", "-id")
            .values_list("id", "text", "data", "rank")[:top_k]
        )
        return [PersonaEpisode(row_id, text, data, round(float(rank), 4)) for row_id, text, data, rank in ranked]
    rows = list(episodes.order_by("-valid_from", "-id").values_list("id", "text", "data")[:SCAN_LIMIT])
    rows.reverse()  # oldest first, as facts_rank takes them (ties go to the newer)
    found = facts_rank(facts=[text for _, text, _ in rows], query=query, limit=top_k)
    return [PersonaEpisode(rows[hit.index][0], rows[hit.index][1], rows[hit.index][2], hit.score) for hit in found]
