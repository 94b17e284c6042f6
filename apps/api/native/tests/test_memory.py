"""GET/PATCH/DELETE /v1/sessions/{id}/memory and GET /v1/sessions/{id}/runs/{run_ref}/context."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.api.native.tests.contract import assert_error
from apps.characters.tests.factories import character_publish
from apps.conversations import services
from apps.conversations.models import Memory, MemoryFact, Run, Session
from apps.conversations.tests.factories import session_start
from apps.core import clock


@pytest.fixture
def session(owner):
    return session_start(owner.api_key.app, greeting="Hi!")


def _url(session_id: str) -> str:
    return f"/v1/sessions/{session_id}/memory"


def _memory_rows(app) -> list:
    """Every memory and fact row of the app, every column: what a refused request must leave alone."""
    return [
        list(Memory.objects.filter(app=app).order_by("pk").values()),
        list(MemoryFact.objects.filter(memory__app=app).order_by("pk").values()),
        list(Session.objects.filter(app=app).order_by("pk").values("pk", "memory_id", "summarised_through")),
    ]


def _extracted_fact(memory: Memory, text: str, *, key: str = "", session=None, cursor=None) -> MemoryFact:
    """A fact as the turn's extraction writes it (the test stands in for the memory runtime)."""
    fact = MemoryFact.objects.create(
        memory=memory, text=text, key=key, source_session=session, source_cursor=cursor, valid_from=clock.now()
    )
    Memory.objects.filter(pk=memory.pk).update(fact_count=memory.facts.filter(valid_to__isnull=True).count())
    return fact


def _patch(api, session_id: str, body) -> dict:
    response = api.patch(_url(session_id), body, format="json")
    assert response.status_code == 200, response.content[:500]
    return response.json()["data"]


# --- GET -----------------------------------------------------------------------------------------------
def test_a_session_whose_character_knows_nothing_reads_an_empty_memory_and_writes_nothing(api, session):
    before = _memory_rows(session.app)
    response = api.get(_url(session.id))
    assert response.status_code == 200
    data = response.json()["data"]
    assert data == {
        "session_id": session.id,
        "memory_id": session.memory_id,  # made empty with the session
        "summary": "",
        "summary_updated_at": None,
        "blocks": [],
        "facts": [],
        "fact_count": 0,
    }
    assert _memory_rows(session.app) == before
    assert response.json()["next_actions"][1]["command"] == f"DELETE /v1/sessions/{session.id}/memory"


def test_get_shows_current_facts_with_their_source_and_history_on_request(api, owner, session):
    memory = Memory.objects.get(pk=session.memory_id)
    old = _extracted_fact(memory, "Lives in Porto", key="user.home", session=session, cursor=2)
    MemoryFact.objects.filter(pk=old.pk).update(valid_to=clock.now())
    current = _extracted_fact(memory, "Lives in Lisbon", key="user.home", session=session, cursor=4)

    facts = api.get(_url(session.id)).json()["data"]["facts"]
    assert [fact["id"] for fact in facts] == [current.id]
    assert facts[0] | {"valid_from": None} == {
        "id": current.id,
        "text": "Lives in Lisbon",
        "key": "user.home",
        "origin": "extracted",
        "source_session_id": session.id,
        "source_cursor": 4,
        "valid_from": None,
        "valid_to": None,
    }
    history = api.get(_url(session.id), {"include": "history"}).json()["data"]["facts"]
    assert [fact["id"] for fact in history] == [old.id, current.id]
    assert history[0]["valid_to"] is not None
    assert_error(api.get(_url(session.id), {"include": "everything"}), 422, "validation_error", fields=["include"])


def test_memory_is_the_users_with_the_character_not_the_sessions(api, owner, session):
    """A second session of the same end-user and character reads what the first one was told."""
    app = owner.api_key.app
    later = services.session_create(app=app, character_slug="luna", external_user_ref="user_1")
    character_publish(app, slug="mira")
    elsewhere = services.session_create(app=app, character_slug="mira", external_user_ref="user_1")
    stranger = services.session_create(app=app, character_slug="luna", external_user_ref="user_2")

    data = _patch(api, session.id, {"facts": {"add": [{"text": "Has a cat named Miso"}]}})
    assert Session.objects.get(pk=later.pk).memory_id == data["memory_id"]  # attached to every session of the key
    assert [fact["text"] for fact in api.get(_url(later.id)).json()["data"]["facts"]] == ["Has a cat named Miso"]
    assert api.get(_url(elsewhere.id)).json()["data"]["facts"] == []  # another character
    assert api.get(_url(stranger.id)).json()["data"]["facts"] == []  # another end-user
    assert Session.objects.get(pk=elsewhere.pk).memory_id not in (None, data["memory_id"])


# --- PATCH ---------------------------------------------------------------------------------------------
def test_patch_replaces_the_summary_and_sets_blocks_by_label(api, session):
    data = _patch(
        api,
        session.id,
        {
            "summary": "  Sam is a nurse in Lisbon.  ",
            "blocks": [
                {"label": "preferences", "value": "Short replies.", "limit": 100},
                {"label": "persona-notes", "value": "Calls the user Sammy."},
            ],
        },
    )
    assert data["summary"] == "Sam is a nurse in Lisbon." and data["summary_updated_at"]
    assert data["blocks"] == [
        {"label": "preferences", "value": "Short replies.", "limit": 100},
        {"label": "persona-notes", "value": "Calls the user Sammy.", "limit": 2000},
    ]
    # a value without a limit keeps the block's limit; null deletes; "" clears the summary
    data = _patch(
        api,
        session.id,
        {
            "summary": "",
            "blocks": [{"label": "preferences", "value": "Long replies."}, {"label": "persona-notes", "value": None}],
        },
    )
    assert data["summary"] == ""
    assert data["blocks"] == [{"label": "preferences", "value": "Long replies.", "limit": 100}]
    assert Memory.objects.get().blocks == [{"label": "preferences", "value": "Long replies.", "limit": 100}]


def test_fact_operations_keep_validity_dates_and_the_current_count(api, session):
    data = _patch(
        api,
        session.id,
        {"facts": {"add": [{"text": "Lives in Porto", "key": "user.home"}, {"text": "Plays the cello"}]}},
    )
    home, cello = data["facts"]
    assert (home["origin"], home["key"], home["valid_to"], data["fact_count"]) == ("integrator", "user.home", None, 2)

    data = _patch(api, session.id, {"facts": {"update": [{"id": home["id"], "text": "Lives in Lisbon"}]}})
    assert [fact["text"] for fact in data["facts"]] == ["Plays the cello", "Lives in Lisbon"]
    successor = data["facts"][1]
    assert successor["id"] != home["id"] and successor["key"] == "user.home"  # the successor keeps the key
    closed = MemoryFact.objects.get(pk=home["id"])
    assert closed.valid_to is not None and closed.valid_to == MemoryFact.objects.get(pk=successor["id"]).valid_from
    assert data["fact_count"] == 2

    # adding a fact with a key that a current fact has replaces it
    data = _patch(api, session.id, {"facts": {"add": [{"text": "Lives in Madrid", "key": "user.home"}]}})
    assert [fact["text"] for fact in data["facts"]] == ["Plays the cello", "Lives in Madrid"]
    assert data["fact_count"] == 2 == Memory.objects.get().fact_count

    # a delete removes the row for good, closed facts too
    data = _patch(api, session.id, {"facts": {"delete": [cello["id"], home["id"]]}})
    assert [fact["text"] for fact in data["facts"]] == ["Lives in Madrid"]
    assert not MemoryFact.objects.filter(pk__in=[cello["id"], home["id"]]).exists()
    assert data["fact_count"] == 1 == Memory.objects.get().fact_count


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"summary": 7}, ["summary"]),
        ({"nickname": "Sam"}, ["nickname"]),
        ({"blocks": {"label": "x"}}, ["blocks"]),
        ({"blocks": [{"label": "Not A Slug", "value": "x"}]}, ["blocks[0].label"]),
        ({"blocks": [{"label": "a" * 65, "value": "x"}]}, ["blocks[0].label"]),
        ({"blocks": [{"label": "notes", "value": "x" * 11, "limit": 10}]}, ["blocks[0].value"]),
        ({"blocks": [{"label": "notes", "value": "x", "limit": 2001}]}, ["blocks[0].limit"]),
        ({"blocks": [{"label": "notes"}]}, ["blocks[0].value"]),
        ({"blocks": [{"label": "a", "value": "x"}, {"label": "a", "value": "y"}]}, ["blocks[1].label"]),
        ({"facts": []}, ["facts"]),
        ({"facts": {"add": [{"text": " "}]}}, ["facts.add[0].text"]),
        ({"facts": {"add": [{"text": "x" * 1001}]}}, ["facts.add[0].text"]),
        ({"facts": {"update": [{"id": "fact_x"}]}}, ["facts.update[0].text"]),
        ({"facts": {"merge": []}}, ["facts.merge"]),
        ({"facts": {"delete": [3]}}, ["facts.delete[0]"]),
        ({"facts": {"add": [{"text": "ok"}], "delete": ["fact_nope"]}}, ["facts.delete[0]"]),
    ],
)
def test_a_bad_operation_is_422_with_its_field_path_and_nothing_is_written(api, owner, session, body, fields):
    _patch(api, session.id, {"summary": "Before.", "facts": {"add": [{"text": "Kept"}]}})
    before = _memory_rows(owner.api_key.app)
    response = api.patch(_url(session.id), body, format="json")
    assert_error(response, 422, "validation_error", fields=fields)
    assert _memory_rows(owner.api_key.app) == before


def test_a_bad_operation_after_good_ones_rolls_back_everything(api, owner, session):
    """Validity is decided under the lock: a good add and summary before an unknown fact id write nothing."""
    kept = _patch(api, session.id, {"facts": {"add": [{"text": "Kept"}]}})["facts"][0]
    MemoryFact.objects.filter(pk=kept["id"]).update(valid_to=clock.now() - timedelta(seconds=1))
    before = _memory_rows(owner.api_key.app)
    response = api.patch(
        _url(session.id),
        {
            "summary": "New",
            "blocks": [{"label": "notes", "value": "x"}],
            "facts": {"add": [{"text": "New fact"}], "update": [{"id": kept["id"], "text": "Closed already"}]},
        },
        format="json",
    )
    detail = assert_error(response, 422, "validation_error", fields=["facts.update[0].id"])
    assert "already replaced" in detail["fields"]["facts.update[0].id"][0]
    assert _memory_rows(owner.api_key.app) == before


def test_too_many_blocks_is_422(api, owner, session, settings):
    settings.MEMORY_MAX_BLOCKS = 2
    _patch(api, session.id, {"blocks": [{"label": "a", "value": "1"}, {"label": "b", "value": "2"}]})
    before = _memory_rows(owner.api_key.app)
    response = api.patch(_url(session.id), {"blocks": [{"label": "c", "value": "3"}]}, format="json")
    assert_error(response, 422, "validation_error", fields=["blocks"])
    assert _memory_rows(owner.api_key.app) == before
    # replacing one while deleting another stays within the cap
    data = _patch(api, session.id, {"blocks": [{"label": "a", "value": None}, {"label": "c", "value": "3"}]})
    assert [block["label"] for block in data["blocks"]] == ["b", "c"]


def test_a_non_object_body_is_422(api, session):
    assert_error(api.patch(_url(session.id), [1], format="json"), 422, "validation_error", fields=["body"])


def test_another_apps_facts_cannot_be_named(api, other_api, other, session):
    foreign = session_start(other.api_key.app, external_user_ref="user_1")
    fact = _patch(other_api, foreign.id, {"facts": {"add": [{"text": "Theirs"}]}})["facts"][0]
    response = api.patch(_url(session.id), {"facts": {"delete": [fact["id"]]}}, format="json")
    assert_error(response, 422, "validation_error", fields=["facts.delete[0]"])
    assert MemoryFact.objects.filter(pk=fact["id"]).exists()


# --- DELETE --------------------------------------------------------------------------------------------
def test_erase_deletes_summary_facts_and_blocks_for_every_session_of_the_user(api, owner, session):
    app = owner.api_key.app
    later = services.session_create(app=app, character_slug="luna", external_user_ref="user_1")
    services.message_send(app=app, session_id=later.id, text="I live in Lisbon")
    data = _patch(
        api,
        session.id,
        {
            "summary": "Sam lives in Lisbon.",
            "blocks": [{"label": "notes", "value": "Lisbon"}],
            "facts": {"add": [{"text": "Lives in Porto", "key": "user.home"}]},
        },
    )
    _patch(api, session.id, {"facts": {"update": [{"id": data["facts"][0]["id"], "text": "Lives in Lisbon"}]}})
    stranger = services.session_create(app=app, character_slug="luna", external_user_ref="user_2")
    _patch(api, stranger.id, {"summary": "Someone else.", "facts": {"add": [{"text": "Other user's fact"}]}})

    response = api.delete(_url(session.id))
    assert response.status_code == 200
    assert response.json()["data"] == {
        "session_id": session.id,
        "memory_id": data["memory_id"],
        "erased": {"facts": 2, "blocks": 1, "summary": True},
    }
    memory = Memory.objects.get(pk=data["memory_id"])
    assert (memory.summary, memory.summary_updated_at, memory.blocks, memory.fact_count) == ("", None, [], 0)
    assert not MemoryFact.objects.filter(memory=memory).exists()  # closed facts too: the rows are gone
    assert not MemoryFact.objects.filter(text__contains="Lisbon").exists()
    assert not Memory.objects.filter(summary__contains="Lisbon").exists()
    # the erased history is not summarised again: every session of the user is summarised up to its end
    for row in Session.objects.filter(external_user_ref="user_1"):
        assert row.summarised_through == row.last_cursor
    assert Session.objects.get(pk=later.pk).last_cursor > 0
    assert Session.objects.get(pk=stranger.pk).summarised_through == 0
    assert api.get(_url(later.id)).json()["data"]["facts"] == []
    assert [fact["text"] for fact in api.get(_url(stranger.id)).json()["data"]["facts"]] == ["Other user's fact"]
    assert api.delete(_url(session.id)).json()["data"]["erased"] == {"facts": 0, "blocks": 0, "summary": False}


# --- tenancy -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_another_apps_session_is_404_and_nothing_is_written(other_api, owner, session, method, nothing_written):
    app = owner.api_key.app
    services.session_memory_patch(
        app=app, session_id=session.id, changes={"summary": "Theirs", "facts": {"add": [{"text": "Theirs"}]}}
    )
    before = _memory_rows(app)
    body = {"summary": "overwritten"} if method == "patch" else None
    with nothing_written():
        response = getattr(other_api, method)(_url(session.id), body, format="json")
    assert_error(response, 404, "session_not_found")
    assert _memory_rows(app) == before


# --- run context ---------------------------------------------------------------------------------------
CONTEXT = {
    "model": "scripted",
    "tokenizer": "o200k_base",
    "budget": {"limit": 4096, "used": 61},
    "parts": [
        {"source": "persona", "text": "You are Luna.", "tokens": 5},
        {"source": "facts", "text": "- Lives in Lisbon", "tokens": 6},
        {"source": "lore", "text": "Lisbon has seven hills.", "tokens": 7},
    ],
    "lore": [
        {
            "book": "Cities",
            "entry": "Lisbon",
            "content": "Lisbon has seven hills.",
            "reason": "key",
            "key": "lisbon",
            "cursor": 3,
            "excerpt": "I live in Lisbon",
        }
    ],
    "facts": [{"id": "fact_1", "text": "Lives in Lisbon", "score": 0.82}],
    "blocks": [],
    "trimmed": [{"source": "history", "text": "hi", "tokens": 1}],
    "summary": None,
}


def _run(session) -> Run:
    return Run.objects.create(session=session, trigger_cursor=1, available_at=clock.now())


def test_run_context_renders_what_the_turn_recorded(api, session):
    run = _run(session)
    Run.objects.filter(pk=run.pk).update(context=CONTEXT, status=Run.Status.SUCCEEDED)
    response = api.get(f"/v1/sessions/{session.id}/runs/{run.id}/context")
    assert response.status_code == 200
    assert response.json()["data"] == {**CONTEXT, "session_id": session.id, "run_ref": run.id}


def test_a_run_without_a_recorded_context_is_404_context_not_recorded(api, session):
    run = _run(session)
    detail = assert_error(api.get(f"/v1/sessions/{session.id}/runs/{run.id}/context"), 404, "context_not_recorded")
    assert "queued" in detail["message"] and "runs" in detail["fix"]


def test_an_unknown_run_and_another_apps_session_are_404(api, other_api, owner, session):
    run = _run(session)
    Run.objects.filter(pk=run.pk).update(context=CONTEXT)
    assert_error(api.get(f"/v1/sessions/{session.id}/runs/run_nope/context"), 404, "run_not_found")
    assert_error(other_api.get(f"/v1/sessions/{session.id}/runs/{run.id}/context"), 404, "session_not_found")
    other_session = session_start(owner.api_key.app, slug="mira")
    # a run of another session of the same app is not this session's
    assert_error(api.get(f"/v1/sessions/{other_session.id}/runs/{run.id}/context"), 404, "run_not_found")


# --- statement counts ----------------------------------------------------------------------------------
def _statements(call) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    return len(captured.captured_queries), response


@pytest.fixture
def cached_key(api, settings):
    """Keys verified from the cache, as in production: the counts below are the endpoints' own statements."""
    settings.API_KEY_CACHE_SECONDS = 5
    return api


def test_statement_counts(cached_key, session):
    api = cached_key
    api.get(_url(session.id))  # warms the key cache
    count, response = _statements(lambda: api.get(_url(session.id)))
    assert response.status_code == 200 and count == 1  # the session joined with its (empty) memory: no facts to read

    _patch(api, session.id, {"facts": {"add": [{"text": "Plays the cello"}]}})
    count, response = _statements(lambda: api.get(_url(session.id)))
    assert response.status_code == 200 and count == 2  # the session joined with its memory, then the facts

    body = {"summary": "s", "blocks": [{"label": "a", "value": "b"}], "facts": {"add": [{"text": "Has a cat"}]}}
    count, response = _statements(lambda: api.patch(_url(session.id), body, format="json"))
    # savepoint, the session with its memory, the memory's lock, its save, the facts' insert, the count
    # refresh, release; then the answer's two reads (no fact ids named and no keys: no fact lookup, no close)
    assert response.status_code == 200 and count == 9, count

    count, response = _statements(lambda: api.delete(_url(session.id)))
    # savepoint, session+memory, sessions' summarised_through, lock, facts delete, memory save, release
    assert response.status_code == 200 and count == 7, count

    run = _run(session)
    Run.objects.filter(pk=run.pk).update(context=CONTEXT)
    count, response = _statements(lambda: api.get(f"/v1/sessions/{session.id}/runs/{run.id}/context"))
    assert response.status_code == 200 and count == 1  # the run joined with its session's app


def test_the_schema_documents_the_patch_operations_and_the_context(anon, db):
    schema = anon.get("/v1/openapi.json").json()
    components = schema["components"]["schemas"]

    def resolve(node: dict) -> dict:
        while "$ref" in node:
            node = components[node["$ref"].rsplit("/", 1)[1]]
        return node

    patch = schema["paths"]["/v1/sessions/{session_id}/memory"]["patch"]
    body = resolve(patch["requestBody"]["content"]["application/json"]["schema"])
    assert set(body["properties"]) == {"summary", "blocks", "facts"} and not body.get("required")
    assert set(resolve(body["properties"]["facts"])["properties"]) == {"add", "update", "delete"}
    assert {"200", "404", "422"} <= set(patch["responses"])
    context = schema["paths"]["/v1/sessions/{session_id}/runs/{run_ref}/context"]["get"]
    data = resolve(resolve(context["responses"]["200"]["content"]["application/json"]["schema"])["properties"]["data"])
    assert {"parts", "lore", "facts", "blocks", "trimmed", "summary", "budget"} <= set(data["properties"])
    lore = resolve(data["properties"]["lore"]["items"])
    assert {"book", "entry", "reason", "key", "cursor", "excerpt"} <= set(lore["properties"])
