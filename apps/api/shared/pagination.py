"""Page cursors for lists ordered newest first by (created_at, id): an opaque token of the last row sent."""

import base64
import json
from datetime import datetime

from apps.core.errors import ValidationFailed


def page_cursor_encode(created_at: datetime, row_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def page_cursor_decode(cursor: str) -> tuple[datetime, str]:
    try:
        created_at, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(created_at), str(row_id)
    except (ValueError, TypeError) as error:
        raise ValidationFailed({"cursor": ["Not a cursor returned by this endpoint."]}) from error
