"""Visual assets: upload, register from a URL, promote, retire (a character's pictures, identity first)."""

from __future__ import annotations

import contextlib
import re
import secrets
from typing import IO, TYPE_CHECKING

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from apps.assets import images
from apps.assets import selectors as asset_selectors
from apps.assets.errors import IdentityRequired, VisualAssetKeyTaken, VisualAssetNotFound
from apps.assets.fetch import image_fetch
from apps.assets.models import VisualAsset
from apps.assets.types import AssetWritten
from apps.characters import errors as character_errors
from apps.characters import selectors as character_selectors
from apps.core.errors import Conflict, ValidationFailed

if TYPE_CHECKING:
    from apps.accounts.models import App
    from apps.characters.models import Character

# --- visual assets ---------------------------------------------------------------------------------------
# A character's pictures. The checks that cost CPU (decoding the image, making the thumbnail) and the fetch of a
# registered URL run before any transaction opens; the write is one short transaction. Files are saved through
# Django's storage API inside it and deleted again if the write fails, so no row points at a missing file and
# no file is left without its row. (An outer transaction of a caller that rolls back later would leave the files
# behind: no caller wraps these services in one.)
ASSET_KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_CONSTRAINT_ERRORS = {
    "visual_asset_key_unique": lambda key: VisualAssetKeyTaken(f"The asset_key '{key}' is already used."),
    "visual_asset_one_active_identity": lambda key: Conflict(
        "Another identity upload for this character finished first.", fix="Send the request again."
    ),
}


def _character_resolved(app: App, character_slug: str | None, character: Character | None) -> Character:
    if character is not None:
        if character.app_id != app.id:
            raise character_errors.CharacterNotFound(f"No character with slug '{character.slug}'.")
        return character
    return character_selectors.character_get(app=app, slug=character_slug or "")


def _fields_checked(*, asset_key: str, category: str) -> None:
    problems: dict[str, list[str]] = {}
    if not isinstance(asset_key, str) or not ASSET_KEY_PATTERN.match(asset_key):
        problems["asset_key"] = ["1-128 letters, digits, '_', '.', ':' or '-', starting with a letter or digit."]
    if category not in VisualAsset.Category.values:
        problems["category"] = [f"One of: {', '.join(VisualAsset.Category.values)}."]
    if problems:
        raise ValidationFailed(problems)


def _admissible(*, character: Character, asset_key: str, category: str) -> None:
    """The cheap refusals, before an image is decoded or fetched (the write checks again under the database's
    constraints): the identity comes first, and an asset_key is used once per character."""
    if category != VisualAsset.Category.IDENTITY and asset_selectors.identity_asset(character=character) is None:
        raise IdentityRequired(
            f"The character '{character.slug}' has no active identity asset; a {category} asset needs one first."
        )
    if VisualAsset.objects.filter(character=character, asset_key=asset_key).exists():
        raise VisualAssetKeyTaken(f"The asset_key '{asset_key}' is already used by this character.")


def _files_save(character: Character, checked: images.CheckedImage) -> tuple[str, str]:
    stem = f"assets/{character.id}/{secrets.token_hex(8)}"
    name = default_storage.save(f"{stem}.{checked.extension}", ContentFile(checked.data))
    try:
        thumbnail = default_storage.save(f"{stem}.thumb.webp", ContentFile(checked.thumbnail))
    except BaseException:
        default_storage.delete(name)
        raise
    return name, thumbnail


def _files_delete(*names: str) -> None:
    for name in names:
        with contextlib.suppress(OSError):
            default_storage.delete(name)


def _asset_store(
    *,
    character: Character,
    checked: images.CheckedImage,
    asset_key: str,
    category: str,
    label: str,
    visual_summary: str,
    visual_description: str,
    source_url: str = "",
    provenance: str = "",
    license: str = "",  # noqa: A002 - the field's name
) -> AssetWritten:
    identity = category == VisualAsset.Category.IDENTITY
    status, promotion = (
        (VisualAsset.Status.ACTIVE, VisualAsset.Promotion.APPROVED_ANCHOR)
        if identity
        else (VisualAsset.Status.CANDIDATE, VisualAsset.Promotion.CANDIDATE)
    )
    name, thumbnail = _files_save(character, checked)
    try:
        with transaction.atomic():
            retired = None
            if identity:
                retired = _identity_retire_current(character)
            elif asset_selectors.identity_asset(character=character) is None:  # retired meanwhile
                raise IdentityRequired(f"The character '{character.slug}' has no active identity asset.")
            try:
                with transaction.atomic():
                    asset = VisualAsset.objects.create(
                        app_id=character.app_id,
                        character=character,
                        asset_key=asset_key,
                        category=category,
                        status=status,
                        promotion=promotion,
                        label=label,
                        visual_summary=visual_summary,
                        visual_description=visual_description,
                        file=name,
                        thumbnail=thumbnail,
                        content_type=checked.content_type,
                        width=checked.width,
                        height=checked.height,
                        byte_size=checked.byte_size,
                        sha256=checked.sha256,
                        source_url=source_url,
                        provenance=provenance,
                        license=license,
                    )
            except IntegrityError as error:
                raise _constraint_error(error, asset_key) from error
    except BaseException:
        _files_delete(name, thumbnail)
        raise
    return AssetWritten(asset, retired)


def _constraint_error(error: IntegrityError, asset_key: str) -> Exception:
    text = str(error)
    for constraint, make in _CONSTRAINT_ERRORS.items():
        if constraint in text:
            return make(asset_key)
    return error


def _identity_retire_current(character: Character, *, keep: VisualAsset | None = None) -> VisualAsset | None:
    """Retire the character's active identity (locked first, so two identity changes take turns); the one
    partial unique constraint then lets the new identity in."""
    current = (
        VisualAsset.objects.select_for_update()
        .filter(character=character, category=VisualAsset.Category.IDENTITY, status=VisualAsset.Status.ACTIVE)
        .exclude(pk=keep.pk if keep is not None else None)
        .first()
    )
    if current is not None:
        current.status = VisualAsset.Status.RETIRED
        current.save(update_fields=["status", "updated_at"])
    return current


def visual_asset_upload(
    *,
    app: App,
    file: IO[bytes] | bytes,
    asset_key: str,
    category: str,
    character_slug: str | None = None,
    character: Character | None = None,
    label: str = "",
    visual_summary: str = "",
    visual_description: str = "",
    provenance: str = "",
    license: str = "",  # noqa: A002 - the field's name
    checked: images.CheckedImage | None = None,
) -> AssetWritten:
    """Store an uploaded picture as one of the character's visual assets (``checked``: a picture that already
    passed ``images.image_check``, instead of ``file``, for a caller that checked it before its transaction).

    An ``identity`` asset is active at once (promotion ``approved_anchor``), like LoreOS: uploading a new face
    is the author's decision, so it replaces the previous active identity, which is retired in the same
    transaction (the database allows one active identity per character) and returned as ``retired``. Other
    categories arrive as candidates to promote, and only once the character has an active identity
    (IdentityRequired, 409). Raises CharacterNotFound (also for another app's character), ValidationFailed,
    VisualAssetKeyTaken (409) and ImageRejected (422: see ``images``).
    """
    character = _character_resolved(app, character_slug, character)
    _fields_checked(asset_key=asset_key, category=category)
    _admissible(character=character, asset_key=asset_key, category=category)
    if checked is None:
        checked = images.image_check(images.image_read(file))
    return _asset_store(
        character=character,
        checked=checked,
        asset_key=asset_key,
        category=category,
        label=label,
        visual_summary=visual_summary,
        visual_description=visual_description,
        provenance=provenance,
        license=license,
    )


def visual_asset_register_url(
    *,
    app: App,
    url: str,
    asset_key: str,
    category: str,
    character_slug: str | None = None,
    character: Character | None = None,
    label: str = "",
    visual_summary: str = "",
    visual_description: str = "",
    provenance: str = "",
    license: str = "",  # noqa: A002 - the field's name
) -> AssetWritten:
    """Fetch an https image once (through the SSRF guard, see ``fetch``) and store a copy like an upload; the
    URL is kept as ``source_url`` beside the ``provenance`` and ``license`` the author states. We never link
    to the URL afterwards: what the character looks like cannot change behind our back.

    Raises what ``visual_asset_upload`` raises, and AssetUrlRefused (422) for a URL that is not https, whose
    host resolves to a refused address, or that does not answer 200 with the body.
    """
    character = _character_resolved(app, character_slug, character)
    _fields_checked(asset_key=asset_key, category=category)
    _admissible(character=character, asset_key=asset_key, category=category)
    fetched = image_fetch(url)
    checked = images.image_check(fetched.data)
    return _asset_store(
        character=character,
        checked=checked,
        asset_key=asset_key,
        category=category,
        label=label,
        visual_summary=visual_summary,
        visual_description=visual_description,
        source_url=url,
        provenance=provenance,
        license=license,
    )


def _asset_locked(app: App, character: Character, asset_id: str) -> VisualAsset:
    asset = (
        VisualAsset.objects.select_for_update().filter(app=app, character=character, pk=asset_id).first()
        if isinstance(asset_id, str)
        else None
    )
    if asset is None:
        raise VisualAssetNotFound(f"No visual asset '{asset_id}' for the character '{character.slug}'.")
    return asset


@transaction.atomic
def visual_asset_promote(
    *, app: App, asset_id: str, character_slug: str | None = None, character: Character | None = None
) -> AssetWritten:
    """Make an asset active: a candidate becomes ``approved``; a retired identity becomes the active identity
    again (``approved_anchor``), retiring the one active now. An active asset stays as it is (promoting twice
    is harmless). Raises CharacterNotFound and VisualAssetNotFound (also for another app's ids)."""
    character = _character_resolved(app, character_slug, character)
    asset = _asset_locked(app, character, asset_id)
    if asset.status == VisualAsset.Status.ACTIVE:
        return AssetWritten(asset)
    retired = None
    if asset.category == VisualAsset.Category.IDENTITY:
        retired = _identity_retire_current(character, keep=asset)
        asset.promotion = VisualAsset.Promotion.APPROVED_ANCHOR
    else:
        asset.promotion = VisualAsset.Promotion.APPROVED
    asset.status = VisualAsset.Status.ACTIVE
    asset.save(update_fields=["status", "promotion", "updated_at"])
    return AssetWritten(asset, retired)


@transaction.atomic
def visual_asset_retire(
    *, app: App, asset_id: str, character_slug: str | None = None, character: Character | None = None
) -> VisualAsset:
    """Take an asset out of use (its file stays, so images that used it keep their record). Retiring the active
    identity is allowed: the character's visual readiness then fails until another identity is active.
    Retiring twice is harmless. Raises CharacterNotFound and VisualAssetNotFound."""
    character = _character_resolved(app, character_slug, character)
    asset = _asset_locked(app, character, asset_id)
    if asset.status != VisualAsset.Status.RETIRED:
        asset.status = VisualAsset.Status.RETIRED
        asset.save(update_fields=["status", "updated_at"])
    return asset
