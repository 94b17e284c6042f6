"""What the persona API and the world API of molroo's SDK 0.7 share: the ``{"result": ...}`` body, lists paged
newest first with ``nextCursor``, the SDK's nine-dimension appraisal split into the six our engine models and
the three it keeps, and the SDK's optional text fields read as text."""

from collections.abc import Callable
from typing import Any

from rest_framework.response import Response

from apps.api.emotion.persona_serializers import EXTRA_DIMENSIONS, PageQuery
from apps.api.shared.pagination import page_cursor_decode, page_cursor_encode
from apps.api.shared.validation import validated


def result(body: Any, status: int = 200) -> Response:
    return Response({"result": body}, status=status)


def newest_first_page(request, *, key: str, page_of: Callable, render: Callable[[Any], dict]) -> Response:
    """``{key: [...], "nextCursor"}`` of the rows ``page_of(after=, limit=)`` returns (rows and whether more
    follow), ordered by (created_at, id) newest first, as the query's ``cursor`` and ``limit`` ask."""
    query = validated(PageQuery, request.query_params)
    after = page_cursor_decode(query["cursor"]) if "cursor" in query else None
    page, more = page_of(after=after, limit=query["limit"])
    cursor = page_cursor_encode(page[-1].created_at, page[-1].id) if more else None
    return result({key: [render(row) for row in page], "nextCursor": cursor})


def appraisal_split(vector: dict[str, Any] | None) -> tuple[dict[str, float] | None, dict[str, float] | None]:
    """The SDK's appraisal as (molroo's six dimensions, which drive the engine; the other three given, which
    are kept on the episode), or (None, None) without one."""
    if vector is None:
        return None, None
    six = {name: value for name, value in vector.items() if name not in EXTRA_DIMENSIONS}
    extra = {name: value for name, value in vector.items() if name in EXTRA_DIMENSIONS and value is not None}
    return six, extra


def text(value: Any) -> str:
    """An optional text field of the SDK's (absent or null: empty)."""
    return value if isinstance(value, str) else ""
