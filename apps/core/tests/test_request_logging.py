"""Each 4xx answer is logged once: one record, written out by one handler (not Django's and ours both)."""

import json
import logging

import pytest
from rest_framework.test import APIClient


def _handlers_writing(record: logging.LogRecord) -> list[logging.Handler]:
    """The configured handlers that would write ``record`` (pytest's own capturing handlers left out)."""
    writing = []
    logger: logging.Logger | None = logging.getLogger(record.name)
    while logger is not None:
        for handler in logger.handlers:
            if type(handler).__module__.startswith("_pytest"):
                continue
            if record.levelno >= handler.level and handler.filter(record):
                writing.append(handler)
        logger = logger.parent if logger.propagate else None
    return writing


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "method", "path", "body", "content_type", "status"),
    [
        ("anon", "get", "/v1/characters", None, None, 401),
        ("bad_key", "get", "/v1/characters", None, None, 403),
        ("api", "get", "/v1/sessions/sess_missing", None, None, 404),
        ("api", "delete", "/v1/characters", None, None, 405),
        ("api", "post", "/v1/characters", "slug=luna", "application/x-www-form-urlencoded", 415),
        ("api", "post", "/v1/characters", {"slug": "luna"}, "application/json", 422),
        ("api", "post", "/v1/characters", "x" * 2_000_000, "application/json", 413),
        ("anon", "get", "/emotion/v1/state/ses_missing", None, None, 401),
        ("api", "get", "/emotion/v1/state/ses_missing", None, None, 404),
        ("anon", "get", "/no/such/page", None, None, 404),
    ],
)
def test_a_4xx_is_logged_once(request, settings, caplog, who, method, path, body, content_type, status):
    # Debug on, as under `make run`: Django's own console handler only writes in debug.
    settings.DEBUG = True
    if who == "bad_key":
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Bearer dra_nope_nope")
    else:
        client = request.getfixturevalue(who)
    kwargs = {} if body is None else {"data": body if isinstance(body, str) else json.dumps(body)}
    if content_type:
        kwargs["content_type"] = content_type
    caplog.set_level(logging.INFO)

    response = getattr(client, method)(path, **kwargs)

    assert response.status_code == status, response.content
    records = [record for record in caplog.records if record.getMessage().endswith(path)]
    assert len(records) == 1, [(r.name, r.getMessage()) for r in caplog.records]
    assert records[0].name == "django.request" and records[0].levelno == logging.WARNING
    assert len(_handlers_writing(records[0])) == 1
