"""Reads of the assets app, scoped to the asking app (another app's assets and images look absent)."""

from __future__ import annotations

import mimetypes
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.db import models
from django.db.models import QuerySet
from django.db.models.fields.files import FieldFile

from apps.assets.errors import (
    FileUrlExpired,
    FileUrlInvalid,
    ImageNotFound,
    ImageNotReady,
    StoredFileMissing,
    VisualAssetNotFound,
)
from apps.assets.models import GeneratedImage, VisualAsset
from apps.assets.types import GateState, SignedFile, SignedUrl, VisualReadiness
from apps.core import clock
from apps.core.compiled import CompiledRead

if TYPE_CHECKING:
    from apps.accounts.models import App
    from apps.characters.models import Character


def visual_asset_list(
    *, app: App, character: Character, category: str | None = None, status: str | None = None
) -> QuerySet[VisualAsset]:
    """The character's assets (``character`` comes from a selector scoped to ``app``), identity first, then by
    category and age; ``category`` and ``status`` narrow it."""
    assets = VisualAsset.objects.filter(app=app, character=character)
    if category:
        assets = assets.filter(category=category)
    if status:
        assets = assets.filter(status=status)
    return assets.order_by(
        models.Case(models.When(category=VisualAsset.Category.IDENTITY, then=0), default=1),
        "category",
        "created_at",
        "id",
    )


def visual_asset_get(*, app: App, character: Character, asset_id: str) -> VisualAsset:
    """Raises VisualAssetNotFound when the id is unknown, another character's or another app's."""
    asset = VisualAsset.objects.filter(app=app, character=character, pk=asset_id).first()
    if asset is None:
        raise VisualAssetNotFound(f"No visual asset '{asset_id}' for the character '{character.slug}'.")
    return asset


def identity_asset(*, character: Character) -> VisualAsset | None:
    """The character's active identity asset (at most one: a database constraint), or None."""
    return VisualAsset.objects.filter(
        character=character, category=VisualAsset.Category.IDENTITY, status=VisualAsset.Status.ACTIVE
    ).first()


def visual_asset_keyed(*, character: Character, asset_key: str) -> VisualAsset | None:
    """The character's asset with this key (any status), or None."""
    return VisualAsset.objects.filter(character=character, asset_key=asset_key).first()


def _thresholds(content: dict[str, Any]) -> dict[str, Any]:
    thresholds = content.get("behavioral_thresholds")
    return thresholds if isinstance(thresholds, dict) else {}


def visual_readiness(*, character: Character, content: dict[str, Any] | None = None) -> VisualReadiness:
    """The three selfie gates for ``character`` (``content``: the version to judge, by default its current
    one)."""
    if content is None:
        version = character.current_version
        content = version.content if version is not None else {}
    identity = identity_asset(character=character) is not None
    anchors = (content.get("profile") or {}).get("identity_anchors")
    anchors_ok = isinstance(anchors, dict) and any(
        isinstance(value, str) and value.strip() for value in anchors.values()
    )
    thresholds = _thresholds(content)
    low = [
        name
        for name in ("image_proactivity", "selfie_comfort", "daily_image_cap")
        if not (isinstance(thresholds.get(name), int | float) and thresholds[name] > 0)
    ]
    return VisualReadiness(
        (
            GateState("identity_asset", identity, "" if identity else "Upload an identity visual asset."),
            GateState(
                "identity_anchors",
                anchors_ok,
                "" if anchors_ok else "Set profile.identity_anchors to a dict of visual keys (e.g. hair, eyes).",
            ),
            GateState(
                "image_thresholds",
                not low,
                "" if not low else f"Set behavioral_thresholds {', '.join(low)} above zero.",
            ),
        )
    )


# --- generated images ------------------------------------------------------------------------------------
# Links to generated images are signed file URLs (``file_url_signed`` below, served at SIGNED_FILE_PATH) whose
# token names the image and the variant instead of a storage name, so minting costs no query: a page of
# image.ready events gets its links without reading a row, and ids alone open nothing. Events store the image's
# id; the links are minted each time an event is read or delivered, valid for FILE_URL_TTL_SECONDS.
IMAGE_VARIANTS = {"f": "file", "t": "thumbnail"}


def image_url_signed(*, image_id: str, variant: str = "file") -> str:
    """A fresh signed URL for the image's ``file`` or ``thumbnail``: absolute under PUBLIC_BASE_URL when that
    is set, else a path on this server."""
    short = "t" if variant == "thumbnail" else "f"
    return _signed_url({"i": image_id, "v": short}, settings.FILE_URL_TTL_SECONDS).url


def image_links(*, image_id: str) -> dict[str, str]:
    """What an ``image.ready`` event carries when read or delivered: its file and thumbnail URLs and when
    they stop working."""
    expires = clock.now() + timedelta(seconds=settings.FILE_URL_TTL_SECONDS)
    return {
        "url": image_url_signed(image_id=image_id),
        "thumbnail_url": image_url_signed(image_id=image_id, variant="thumbnail"),
        "url_expires_at": expires.isoformat().replace("+00:00", "Z"),
    }


def image_token_read(*, token: str) -> tuple[str, str] | None:
    """The (image id, variant) a token of ``image_url_signed`` names, or None when it is forged, tampered
    with, expired or names no image."""
    try:
        payload = _token_payload(token)
    except (FileUrlInvalid, FileUrlExpired):
        return None
    image_id, short = payload.get("i"), payload.get("v")
    if not isinstance(image_id, str) or not image_id or short not in IMAGE_VARIANTS:
        return None
    return image_id, IMAGE_VARIANTS[short]


def image_get(*, app_id: str, image_id: str) -> GeneratedImage:
    """The app's image ``image_id``; another app's image is absent (ImageNotFound)."""
    image = GeneratedImage.objects.filter(app_id=app_id, pk=image_id).first()
    if image is None:
        raise ImageNotFound(f"No image with id '{image_id}'.")
    return image


def image_file_name(*, image_id: str, variant: str) -> tuple[str, str] | None:
    """The storage name and content type of a ready image's file (or thumbnail), or None when there is none."""
    row = (
        GeneratedImage.objects.filter(pk=image_id, status=GeneratedImage.Status.READY)
        .values_list("file", "thumbnail", "content_type")
        .first()
    )
    if row is None:
        return None
    name = row[1] if variant == "thumbnail" else row[0]
    if not name:
        return None
    return name, ("image/png" if variant == "thumbnail" else row[2] or "image/png")


def image_bytes(*, image_id: str) -> tuple[bytes, str]:
    """A ready image's file as (bytes, content type), for channels that upload the picture itself (Telegram's
    sendPhoto). Raises ImageNotReady when the image has no file."""
    found = image_file_name(image_id=image_id, variant="file")
    if found is None:
        raise ImageNotReady(f"The image '{image_id}' has no file.")
    with default_storage.open(found[0], "rb") as handle:
        return handle.read(), found[1]


_SELFIE_IDENTITY = CompiledRead(
    lambda character_id: VisualAsset.objects.filter(
        character_id=character_id, category=VisualAsset.Category.IDENTITY, status=VisualAsset.Status.ACTIVE
    )[:1],
    markers=["\x00character_id"],
)


def selfie_identity(*, character_id: str) -> VisualAsset | None:
    """``identity_asset`` by the character's id, for a turn that has the session row but not the character.
    Compiled once per process (``core.compiled``): every turn of a selfie-ready character reads it."""
    found = _SELFIE_IDENTITY.fetch(character_id)
    return found[0] if found else None


def image_latest_summary(*, session_id: str) -> str:
    """The scene summary of the session's newest ready image ("" when it has none): what a follow-up probe
    continues from."""
    row = (
        GeneratedImage.objects.filter(session_id=session_id, status=GeneratedImage.Status.READY)
        .order_by("-created_at", "-id")
        .values_list("prompt_summary", flat=True)
        .first()
    )
    return row or ""


# Signed file URLs. A stored file (a visual asset, its thumbnail, a generated image) is served to whoever holds
# a URL minted here, until it expires: the URL is the permission, so a browser <img>, a webhook receiver or a
# chat client can load it without our API key, and nothing is readable by guessing names. The token signs the
# file's storage name and its expiry (django.core.signing, our SECRET_KEY): a changed byte or another name
# fails the signature (403 file_url_invalid), an old token fails the clock (403 file_url_expired).
# Serve them with ``signed_file_read`` (the native surface mounts it at SIGNED_FILE_PATH<token>).
SIGNED_FILE_PATH = "/v1/files/"
_FILE_URL_SALT = "dramatis.assets.file-url"


def _file_signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=_FILE_URL_SALT)


def _signed_url(payload: dict[str, Any], seconds: int) -> SignedUrl:
    expires = int(time.time()) + seconds
    token = _file_signer().sign_object({**payload, "e": expires}, compress=True)
    return SignedUrl(
        f"{settings.PUBLIC_BASE_URL.rstrip('/')}{SIGNED_FILE_PATH}{token}", datetime.fromtimestamp(expires, tz=UTC)
    )


def _token_payload(token: str) -> dict[str, Any]:
    try:
        payload = _file_signer().unsign_object(token)
        expires = int(payload["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise FileUrlInvalid("This file URL is not valid.") from error
    if time.time() > expires:
        raise FileUrlExpired("This file URL has expired.")
    return payload


def file_url_signed(file: str | FieldFile, *, ttl: int | None = None) -> SignedUrl:
    """A URL that serves ``file`` (a storage name or a FileField's value) for ``ttl`` seconds (default
    FILE_URL_TTL_SECONDS): absolute under PUBLIC_BASE_URL when that is set, else a path on this server. No query."""
    name = file.name if isinstance(file, FieldFile) else file
    return _signed_url({"n": name}, settings.FILE_URL_TTL_SECONDS if ttl is None else ttl)


def signed_file_read(*, token: str) -> SignedFile:
    """The file a token of ``file_url_signed`` or ``image_url_signed`` names. Raises FileUrlInvalid (forged or
    altered), FileUrlExpired and StoredFileMissing (the file is gone from storage, or the image is not ready)."""
    payload = _token_payload(token)
    if "i" in payload:
        named = image_token_read(token=token)
        found = image_file_name(image_id=named[0], variant=named[1]) if named else None
        if found is None:
            raise StoredFileMissing("The image is not stored (yet).")
        return SignedFile(*found)
    name = payload.get("n")
    if not isinstance(name, str) or not name or not default_storage.exists(name):
        raise StoredFileMissing("The file is no longer stored.")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return SignedFile(name, content_type)


def image_page(*, app_id: str, offset: int, limit: int) -> tuple[list[GeneratedImage], int]:
    """One page of the app's ready images, newest first, and how many it has in all (two statements: the count
    and the page; the ``generated_image_app_recent`` index serves both)."""
    images = GeneratedImage.objects.filter(app_id=app_id, status=GeneratedImage.Status.READY)
    total = images.count()
    if offset >= total:
        return [], total
    return list(images.order_by("-created_at", "-id")[offset : offset + limit]), total


def identity_assets(*, character_ids: list[str]) -> dict[str, VisualAsset]:
    """The active identity asset of each of these characters that has one, by character id, in one statement."""
    if not character_ids:
        return {}
    assets = VisualAsset.objects.filter(
        character_id__in=character_ids, category=VisualAsset.Category.IDENTITY, status=VisualAsset.Status.ACTIVE
    )
    return {asset.character_id: asset for asset in assets}
