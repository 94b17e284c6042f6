"""/v1/characters/{slug}/visual-assets (upload, register-url, list, get, promote, retire), visual-readiness and
the signed file URLs, on the real database and storage."""

import time

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.api.native.tests.contract import assert_error
from apps.assets import selectors
from apps.assets.models import VisualAsset
from apps.assets.tests.pictures import SVG, exif_gps, picture, png_header_only
from apps.characters.tests.factories import character_publish


@pytest.fixture
def luna(owner):
    return character_publish(owner.api_key.app, slug="luna").character


def _upload(api, data: bytes, *, slug="luna", name="face.png", **fields):
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = {"asset_key": "face", "category": "identity", **fields}
    body["file"] = SimpleUploadedFile(name, data, content_type="image/png")
    return api.post(f"/v1/characters/{slug}/visual-assets", body, format="multipart")


def _stored_names() -> set[str]:
    found = set()
    for folder in ("assets",):
        if not default_storage.exists(folder):
            continue
        stack = [folder]
        while stack:
            current = stack.pop()
            dirs, files = default_storage.listdir(current)
            stack += [f"{current}/{name}" for name in dirs]
            found |= {f"{current}/{name}" for name in files}
    return found


@pytest.fixture
def files_written():
    """The names stored during the test (the media folder is per run, so earlier tests' files are excluded)."""
    before = _stored_names()
    return lambda: _stored_names() - before


def test_an_identity_upload_is_active_at_once_with_signed_urls(api, luna, files_written):
    response = _upload(api, picture("PNG", size=(300, 200)), label="Luna, front", visual_summary="silver hair")

    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["asset_id"].startswith("vas_")
    assert (data["category"], data["status"], data["promotion"]) == ("identity", "active", "approved_anchor")
    assert (data["content_type"], data["width"], data["height"], data["label"]) == (
        "image/png",
        300,
        200,
        "Luna, front",
    )
    assert data["retired_asset_id"] is None
    assert len(files_written()) == 2  # the file and its thumbnail
    file = api.get(data["file_url"])
    assert file.status_code == 200 and file["Content-Type"] == "image/png"
    assert b"".join(file.streaming_content).startswith(b"\x89PNG")
    thumbnail = api.get(data["thumbnail_url"])
    assert thumbnail.status_code == 200 and thumbnail["Content-Type"] == "image/webp"


def test_the_file_url_needs_no_key_and_expires(api, anon, luna, settings):
    data = _upload(api, picture("JPEG")).json()["data"]
    assert anon.get(data["file_url"]).status_code == 200

    asset = VisualAsset.objects.get(pk=data["asset_id"])
    expired = selectors.file_url_signed(asset.file, ttl=-1)
    assert_error(anon.get(expired.url), 403, "file_url_expired")
    short = selectors.file_url_signed(asset.file, ttl=1)
    assert anon.get(short.url).status_code == 200
    time.sleep(2.1)
    assert_error(anon.get(short.url), 403, "file_url_expired")


def test_a_tampered_or_forged_file_url_is_refused(api, anon, luna):
    url = _upload(api, picture("PNG")).json()["data"]["file_url"]
    token = url.rsplit("/", 1)[1]
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    assert_error(anon.get(f"/v1/files/{flipped}"), 403, "file_url_invalid")
    assert_error(anon.get("/v1/files/assets:forged"), 403, "file_url_invalid")
    other_name = selectors.file_url_signed("assets/none/missing.png")
    assert_error(anon.get(other_name.url), 404, "file_not_found")


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (picture("PNG", size=(200, 200))[:300], "face.png", "truncated or corrupt"),
        (b"just text, honest\n" * 10, "face.png", "not a PNG, JPEG or WebP"),
        (png_header_only(20000, 20000), "bomb.png", "too many pixels"),
        (SVG, "face.svg", "not a PNG, JPEG or WebP"),
        (picture("GIF"), "face.gif", "not a PNG, JPEG or WebP"),
    ],
)
def test_bad_uploads_are_422_image_rejected_and_nothing_is_written(
    api, luna, nothing_written, files_written, data, name, reason
):
    with nothing_written():
        detail = assert_error(_upload(api, data, name=name), 422, "image_rejected", fields=["file"])
    assert reason in detail["message"]
    assert not VisualAsset.objects.exists() and not files_written()


def test_an_upload_over_the_byte_limit_is_422_and_over_the_route_limit_413(api, luna, settings, files_written):
    settings.ASSET_MAX_BYTES = 2000
    big = picture("PNG", size=(64, 64)) + b"\0" * 3000
    detail = assert_error(_upload(api, big), 422, "image_rejected", fields=["file"])
    assert "ASSET_MAX_BYTES" in detail["message"]

    settings.REQUEST_MAX_BYTES, settings.UPLOAD_REQUEST_MAX_BYTES = 1000, 3000
    assert_error(_upload(api, big), 413, "payload_too_large")
    assert not VisualAsset.objects.exists() and not files_written()


def test_an_upload_route_takes_more_than_the_json_limit(api, luna, settings):
    settings.REQUEST_MAX_BYTES = 1000
    big_jpeg = picture("JPEG", size=(400, 400), colour=(9, 99, 199), quality=100)
    assert len(big_jpeg) > 1000
    assert _upload(api, big_jpeg, asset_key="face-2").status_code == 201
    assert_error(api.post("/v1/characters", {"slug": "x" * 2000}, format="json"), 413, "payload_too_large")


def test_the_exif_gps_of_an_upload_is_gone(api, luna):
    data = _upload(api, picture("JPEG", size=(120, 90), exif=exif_gps().tobytes())).json()["data"]
    stored = VisualAsset.objects.get(pk=data["asset_id"])
    with default_storage.open(stored.file.name, "rb") as handle:
        content = handle.read()
    assert b"PhoneMaker" not in content and b"Exif" not in content
    assert stored.sha256 == data["sha256"] and stored.byte_size == len(content)


def test_other_categories_need_an_identity_first_then_arrive_as_candidates(api, luna, nothing_written):
    with nothing_written():
        assert_error(_upload(api, picture(), asset_key="red-dress", category="wardrobe"), 409, "identity_required")
    assert _upload(api, picture()).status_code == 201

    wardrobe = _upload(api, picture(), asset_key="red-dress", category="wardrobe").json()["data"]

    assert (wardrobe["status"], wardrobe["promotion"]) == ("candidate", "candidate")


def test_a_duplicate_asset_key_is_409(api, luna, files_written):
    assert _upload(api, picture()).status_code == 201
    before = files_written()
    assert_error(_upload(api, picture(), category="prop"), 409, "visual_asset_key_taken")
    assert files_written() == before


def test_a_new_identity_retires_the_previous_one(api, luna):
    first = _upload(api, picture()).json()["data"]

    second = _upload(api, picture(colour=(0, 0, 255)), asset_key="face-v2").json()["data"]

    assert second["status"] == "active" and second["retired_asset_id"] == first["asset_id"]
    statuses = dict(VisualAsset.objects.values_list("asset_key", "status"))
    assert statuses == {"face": "retired", "face-v2": "active"}


def test_bad_fields_are_422_with_the_field_names(api, luna, nothing_written):
    with nothing_written():
        assert_error(
            _upload(api, picture(), asset_key="no spaces", category="hat"),
            422,
            "validation_error",
            fields=["asset_key", "category"],
        )
        response = api.post("/v1/characters/luna/visual-assets", {"asset_key": "a", "category": "identity"})
        assert_error(response, 422, "validation_error", fields=["file"])


def test_list_get_promote_retire(api, luna):
    identity = _upload(api, picture()).json()["data"]
    dress = _upload(api, picture(), asset_key="red-dress", category="wardrobe").json()["data"]
    cafe = _upload(api, picture(), asset_key="cafe", category="place").json()["data"]

    listed = api.get("/v1/characters/luna/visual-assets").json()["data"]["visual_assets"]
    assert [asset["asset_key"] for asset in listed] == ["face", "cafe", "red-dress"]
    candidates = api.get("/v1/characters/luna/visual-assets?status=candidate").json()["data"]["visual_assets"]
    assert {asset["asset_id"] for asset in candidates} == {dress["asset_id"], cafe["asset_id"]}
    places = api.get("/v1/characters/luna/visual-assets?category=place").json()["data"]["visual_assets"]
    assert [asset["asset_id"] for asset in places] == [cafe["asset_id"]]
    assert_error(api.get("/v1/characters/luna/visual-assets?status=gone"), 422, "validation_error", fields=["status"])

    promoted = api.post(f"/v1/characters/luna/visual-assets/{dress['asset_id']}/promote").json()["data"]
    assert (promoted["status"], promoted["promotion"]) == ("active", "approved")
    again = api.post(f"/v1/characters/luna/visual-assets/{dress['asset_id']}/promote")
    assert again.status_code == 200 and again.json()["data"]["status"] == "active"

    retired = api.post(f"/v1/characters/luna/visual-assets/{identity['asset_id']}/retire").json()["data"]
    assert retired["status"] == "retired"
    got = api.get(f"/v1/characters/luna/visual-assets/{identity['asset_id']}").json()["data"]
    assert got["status"] == "retired" and got["asset_key"] == "face"

    back = api.post(f"/v1/characters/luna/visual-assets/{identity['asset_id']}/promote").json()["data"]
    assert (back["status"], back["promotion"], back["retired_asset_id"]) == ("active", "approved_anchor", None)


def test_the_list_costs_two_statements(api, owner, luna, settings):
    settings.API_KEY_CACHE_SECONDS = 5
    _upload(api, picture())
    _upload(api, picture(), asset_key="cafe", category="place")
    assert api.get("/v1/characters/luna/visual-assets").status_code == 200  # warms the key cache
    with CaptureQueriesContext(connection) as captured:
        response = api.get("/v1/characters/luna/visual-assets")
    assert len(response.json()["data"]["visual_assets"]) == 2
    # the character (scoped to the app), the assets with their character joined
    assert len(captured.captured_queries) == 2, [query["sql"][:120] for query in captured.captured_queries]


def test_readiness_gates_fail_one_by_one_then_all_pass(api, owner, luna):
    gates = api.get("/v1/characters/luna/visual-readiness").json()["data"]
    assert gates["ready"] is False
    assert {name: gate["state"] for name, gate in gates["gates"].items()} == {
        "identity_asset": "missing",
        "identity_anchors": "missing",
        "image_thresholds": "missing",
    }
    assert "identity visual asset" in gates["gates"]["identity_asset"]["missing"]

    identity = _upload(api, picture()).json()["data"]
    gates = api.get("/v1/characters/luna/visual-readiness").json()["data"]["gates"]
    assert gates["identity_asset"] == {"state": "passed", "missing": None}

    character_publish(
        owner.api_key.app,
        slug="luna",
        profile={"identity_anchors": {"hair": "silver", "eyes": "grey"}},
        behavioral_thresholds={"image_proactivity": 0.5, "selfie_comfort": 0.7, "daily_image_cap": 0},
    )
    gates = api.get("/v1/characters/luna/visual-readiness").json()["data"]
    assert gates["gates"]["identity_anchors"]["state"] == "passed"
    assert gates["gates"]["image_thresholds"] == {
        "state": "missing",
        "missing": "Set behavioral_thresholds daily_image_cap above zero.",
    }

    character_publish(
        owner.api_key.app,
        slug="luna",
        profile={"identity_anchors": {"hair": "silver", "eyes": "grey"}},
        behavioral_thresholds={"image_proactivity": 0.5, "selfie_comfort": 0.7, "daily_image_cap": 3},
    )
    assert api.get("/v1/characters/luna/visual-readiness").json()["data"]["ready"] is True

    api.post(f"/v1/characters/luna/visual-assets/{identity['asset_id']}/retire")
    retired = api.get("/v1/characters/luna/visual-readiness").json()["data"]
    assert retired["ready"] is False and retired["gates"]["identity_asset"]["state"] == "missing"


def test_another_apps_character_and_assets_are_404(api, other_api, luna, other, nothing_written):
    asset_id = _upload(api, picture()).json()["data"]["asset_id"]
    character_publish(other.api_key.app, slug="mine")
    with nothing_written():
        assert_error(_upload(other_api, picture()), 404, "character_not_found")
        assert_error(other_api.get("/v1/characters/luna/visual-assets"), 404, "character_not_found")
        assert_error(other_api.get(f"/v1/characters/luna/visual-assets/{asset_id}"), 404, "character_not_found")
        assert_error(other_api.post(f"/v1/characters/luna/visual-assets/{asset_id}/retire"), 404, "character_not_found")
        assert_error(other_api.get("/v1/characters/luna/visual-readiness"), 404, "character_not_found")
        # the asset id under the other app's own character
        assert_error(other_api.get(f"/v1/characters/mine/visual-assets/{asset_id}"), 404, "visual_asset_not_found")
        assert_error(
            other_api.post(f"/v1/characters/mine/visual-assets/{asset_id}/promote"), 404, "visual_asset_not_found"
        )
    assert VisualAsset.objects.get(pk=asset_id).status == "active"


def test_without_a_key_it_is_401(anon, luna):
    assert_error(anon.get("/v1/characters/luna/visual-assets"), 401, "missing_api_key")
    assert_error(_upload(anon, picture()), 401, "missing_api_key")


# --- register-url ---------------------------------------------------------------------------------------------
@pytest.fixture
def image_server(picture_host):
    picture_host.serve("/face.png", picture("PNG", size=(90, 90)))
    picture_host.serve("/page.html", b"<html>not an image</html>", content_type="text/html")
    picture_host.serve("/moved.png", b"", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    return picture_host.base_url


def _register(api, url, **fields):
    body = {"url": url, "asset_key": "face", "category": "identity", **fields}
    return api.post("/v1/characters/luna/visual-assets/register-url", body, format="json")


def test_register_url_fetches_once_and_stores_a_copy(api, luna, image_server):
    response = _register(api, f"{image_server}/face.png", provenance="drawn by Ana", license="CC-BY-4.0")

    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert (data["source_url"], data["provenance"], data["license"]) == (
        f"{image_server}/face.png",
        "drawn by Ana",
        "CC-BY-4.0",
    )
    assert (data["width"], data["status"]) == (90, "active")
    assert api.get(data["file_url"]).status_code == 200


def test_register_url_refuses_http_private_addresses_redirects_and_non_images(
    api, luna, image_server, settings, nothing_written
):
    with nothing_written():
        detail = assert_error(_register(api, f"{image_server}/page.html"), 422, "image_rejected", fields=["file"])
        assert "not a PNG, JPEG or WebP" in detail["message"]
        detail = assert_error(_register(api, f"{image_server}/moved.png"), 422, "asset_url_refused", fields=["url"])
        assert "302" in detail["message"]
        assert_error(_register(api, f"{image_server}/missing.png"), 422, "asset_url_refused", fields=["url"])

        settings.ASSET_FETCH_ALLOWED_NETWORKS = []  # the guard's default: loopback is refused
        detail = assert_error(_register(api, f"{image_server}/face.png"), 422, "asset_url_refused", fields=["url"])
        assert "127.0.0.1" in detail["message"]
        assert_error(_register(api, "https://10.0.0.8/face.png"), 422, "asset_url_refused", fields=["url"])
        assert_error(_register(api, "https://[::ffff:169.254.169.254]/x.png"), 422, "asset_url_refused")

        settings.ASSET_FETCH_ALLOW_HTTP = False
        settings.ASSET_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
        detail = assert_error(_register(api, f"{image_server}/face.png"), 422, "asset_url_refused", fields=["url"])
        assert "https://" in detail["message"]
        assert_error(_register(api, "ftp://example.com/face.png"), 422, "asset_url_refused", fields=["url"])


def test_register_url_before_an_identity_is_409_without_fetching(api, luna, image_server, picture_host):
    response = _register(api, f"{image_server}/face.png", category="wardrobe")
    assert_error(response, 409, "identity_required")
    assert picture_host.requests == []
