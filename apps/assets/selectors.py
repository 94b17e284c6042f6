"""Reads of the assets app, scoped to the asking app (another app's assets and images look absent)."""

from __future__ import annotations

import mimetypes
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.db import models
from django.db.models import QuerySet
from django.db.models.fields.files import FieldFile

from apps.assets.errors import FileUrlExpired, FileUrlInvalid, StoredFileMissing, VisualAssetNotFound
from apps.assets.models import VisualAsset
from apps.assets.types import GateState, SignedFile, SignedUrl, VisualReadiness

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


def file_url_signed(file: str | FieldFile, *, ttl: int | None = None) -> SignedUrl:
    """A URL that serves ``file`` (a storage name or a FileField's value) for ``ttl`` seconds (default
    FILE_URL_TTL_SECONDS): absolute under PUBLIC_BASE_URL when that is set, else a path on this server. No query."""
    name = file.name if isinstance(file, FieldFile) else file
    seconds = settings.FILE_URL_TTL_SECONDS if ttl is None else ttl
    expires = int(time.time()) + seconds
    token = _file_signer().sign_object({"n": name, "e": expires}, compress=True)
    return SignedUrl(
        f"{settings.PUBLIC_BASE_URL.rstrip('/')}{SIGNED_FILE_PATH}{token}", datetime.fromtimestamp(expires, tz=UTC)
    )


def signed_file_read(*, token: str) -> SignedFile:
    """The file a token of ``file_url_signed`` names. Raises FileUrlInvalid (forged or altered), FileUrlExpired
    and StoredFileMissing (the file is gone from storage)."""
    try:
        payload = _file_signer().unsign_object(token)
        name, expires = payload["n"], int(payload["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise FileUrlInvalid("This file URL is not valid.") from error
    if time.time() > expires:
        raise FileUrlExpired("This file URL has expired.")
    if not isinstance(name, str) or not name or not default_storage.exists(name):
        raise StoredFileMissing("The file is no longer stored.")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return SignedFile(name, content_type)
