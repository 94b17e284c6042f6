"""Images on the native surface: image.ready events carry fresh signed links when read (poll, SSE, trace), the
links serve the file until they expire, and image probes."""

from decimal import Decimal

import pytest
from django.core import signing
from django.core.files.storage import default_storage

from apps.accounts import services as accounts_services
from apps.api.native import streams
from apps.assets import backends
from apps.assets import selectors as assets_selectors
from apps.assets.errors import ImageBackendError
from apps.assets.models import GeneratedImage
from apps.assets.tests.factories import identity_asset_create, selfie_character_fields
from apps.conversations import services
from apps.conversations.models import SelfieDayCount
from apps.conversations.services import selfies
from apps.conversations.tests.factories import session_start

PROBES = "/v1/characters/mira/image-probe"


@pytest.fixture(autouse=True)
def _lexicon(settings):
    settings.EMOTION_APPRAISER = "lexicon"


@pytest.fixture
def session(owner):
    session = session_start(owner.api_key.app, slug="mira", **selfie_character_fields(daily_image_cap=1))
    identity_asset_create(session.character)
    return session


def _selfie(app, session, capture) -> GeneratedImage:
    """A selfie turn and its image job, run inline after each commit."""
    with capture(execute=True):
        services.message_send(app=app, session_id=session.id, text="send me a selfie?")
    return GeneratedImage.objects.get(session_id=session.id, kind="selfie")


def _ready(events: list[dict]) -> dict:
    (event,) = [event for event in events if event["event_type"] == "image.ready"]
    return event["payload"]


def test_polling_adds_signed_links_that_serve_the_file(owner, api, anon, session, django_capture_on_commit_callbacks):
    image = _selfie(owner.api_key.app, session, django_capture_on_commit_callbacks)
    assert image.status == "ready"
    payload = _ready(api.get(f"/v1/sessions/{session.id}/events?since=0").json()["data"]["events"])
    assert payload["image_id"] == image.id and payload["run_ref"] == image.run_ref
    assert (payload["width"], payload["height"]) == (512, 512) and payload["prompt_summary"]

    # the link needs no API key: the signed token is the key
    response = anon.get(payload["url"])
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    with default_storage.open(image.file.name, "rb") as handle:
        assert b"".join(response.streaming_content) == handle.read()
    thumbnail = anon.get(payload["thumbnail_url"])
    assert thumbnail.status_code == 200 and b"".join(thumbnail.streaming_content)[:4] == b"\x89PNG"

    # each read mints its own links; the trace and the SSE catch-up carry them too
    later = _ready(api.get(f"/v1/sessions/{session.id}/events?since=0").json()["data"]["events"])
    assert later["image_id"] == image.id
    trace = api.get(f"/v1/sessions/{session.id}/trace").json()["data"]["events"]
    assert _ready([item["event"] for item in trace])["url"].startswith("/v1/files/")
    assert _ready(streams._events_after(session.id, 0))["url"].startswith("/v1/files/")


def test_a_tampered_forged_or_expired_link_is_refused(
    owner, anon, session, django_capture_on_commit_callbacks, monkeypatch
):
    image = _selfie(owner.api_key.app, session, django_capture_on_commit_callbacks)

    url = assets_selectors.image_url_signed(image_id=image.id)
    assert anon.get(url).status_code == 200
    token = url.rsplit("/", 1)[1]
    value, _, signature = token.rpartition(":")
    for bad in (
        f"{value}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",  # tampered signature
        f"{value[:-2]}{'AA' if value[-2:] != 'AA' else 'BB'}:{signature}",  # another value, same signature
        f"{image.id}.f",  # an id alone opens nothing
    ):
        response = anon.get(f"/v1/files/{bad}")
        assert response.status_code == 403 and response.json()["detail"]["code"] == "file_url_invalid"
    real_time = signing.time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() + 3601)
    expired = anon.get(url)
    assert expired.status_code == 403 and expired.json()["detail"]["code"] == "file_url_expired"


def test_a_probe_draws_bypassing_only_the_cap_and_reports(owner, api, session, django_capture_on_commit_callbacks):
    app = owner.api_key.app
    SelfieDayCount.objects.create(
        app=app, character=session.character, external_user_ref="user_1", day=selfies.local_day(session), count=1
    )  # the day's cap is spent
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(PROBES, {"probe_type": "identity_selfie", "session_id": session.id}, format="json")
    assert response.status_code == 202, response.content
    probe = response.json()["data"]
    assert (probe["status"], probe["probe_type"], probe["url"]) == ("pending", "identity_selfie", None)

    got = api.get(f"{PROBES}/{probe['probe_id']}")
    assert got.status_code == 200
    data = got.json()["data"]
    identity = session.character.visual_assets.get()
    assert data["status"] == "ready" and data["url"].startswith("/v1/files/")
    assert data["assets_used"] == [identity.id]
    assert data["report"] == {
        "identity_asset_used": identity.id,
        "size": "512x512",
        "seed": GeneratedImage.objects.get(pk=probe["probe_id"]).seed,
        "backend": "builtin",
        "model": "builtin",
    }
    events = api.get(f"/v1/sessions/{session.id}/events?since=0").json()["data"]["events"]
    ready = _ready(events)
    assert (ready["probe_id"], ready["kind"], ready["probe_type"]) == (probe["probe_id"], "probe", "identity_selfie")


def test_probe_refusals_in_the_native_shape(owner, api, other_api, anon, session, nothing_written):
    app = owner.api_key.app
    body = {"probe_type": "identity_selfie", "session_id": session.id}
    with nothing_written():
        bad = api.post(PROBES, {"probe_type": "glamour_shot", "session_id": session.id}, format="json")
    assert bad.status_code == 422 and bad.json()["detail"]["code"] == "validation_error"
    with nothing_written():
        assert api.post(PROBES, {"probe_type": "identity_selfie"}, format="json").status_code == 422
    with nothing_written():
        unknown = api.post(PROBES, {**body, "session_id": "sess_nope"}, format="json")
    assert unknown.status_code == 404 and unknown.json()["detail"]["code"] == "session_not_found"
    with nothing_written():
        assert other_api.post(PROBES, body, format="json").status_code == 404  # another app's session
    assert anon.post(PROBES, body, format="json").status_code == 401
    # another character's slug with this session: absent
    session_start(app, slug="nova")
    assert api.post("/v1/characters/nova/image-probe", body, format="json").status_code == 404

    accounts_services.budget_policy_set(app=app, limit_credits=Decimal(1), resource_type="image")
    with nothing_written():
        broke = api.post(PROBES, body, format="json")
    assert broke.status_code == 402 and broke.json()["detail"]["code"] == "budget_exceeded"


def test_a_character_without_its_face_cannot_be_probed(owner, api, nothing_written):
    session = session_start(owner.api_key.app, slug="mira", **selfie_character_fields())
    with nothing_written():
        response = api.post(PROBES, {"probe_type": "full_body_identity", "session_id": session.id}, format="json")
    assert response.status_code == 409
    assert response.json()["detail"]["code"] == "visual_not_ready"
    assert "identity visual asset" in response.json()["detail"]["message"]


def test_another_apps_probe_is_absent(owner, api, other_api, session, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        probe = api.post(PROBES, {"probe_type": "prop_usage", "session_id": session.id}, format="json").json()["data"]
    response = other_api.get(f"{PROBES}/{probe['probe_id']}")  # the path's character is not theirs
    assert response.status_code == 404 and response.json()["detail"]["code"] == "character_not_found"
    assert api.get(f"/v1/characters/nova/image-probe/{probe['probe_id']}").status_code == 404
    assert api.get(f"{PROBES}/img_doesnotexist").status_code == 404


def test_a_probe_failure_reads_as_failed_with_its_code(
    owner, api, session, django_capture_on_commit_callbacks, monkeypatch
):
    def broken(spec, request):
        raise ImageBackendError("The backend refused.")

    monkeypatch.setitem(backends.BACKENDS, "builtin", broken)
    with django_capture_on_commit_callbacks(execute=True):
        probe = api.post(PROBES, {"probe_type": "wardrobe_variation", "session_id": session.id}, format="json")
    data = api.get(f"{PROBES}/{probe.json()['data']['probe_id']}").json()["data"]
    assert data["status"] == "failed" and data["url"] is None
    assert data["error"] == {"code": "image_backend_failed", "message": "The backend refused."}
