"""Writes of the assets app: visual assets (upload, register from a URL, promote, retire) and generated
images (create, draw, settle). Every function takes the asking app and refuses another app's rows as absent.
"""

from __future__ import annotations

import contextlib
import io
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from PIL import Image

from apps.accounts import services as accounts_services
from apps.accounts.types import ResourceType, UsagePurpose
from apps.assets import backends, images
from apps.assets import selectors as asset_selectors
from apps.assets.errors import IdentityRequired, VisualAssetKeyTaken, VisualAssetNotFound
from apps.assets.fetch import image_fetch
from apps.assets.models import GeneratedImage, VisualAsset
from apps.assets.types import AssetWritten, ImageRequest
from apps.characters import errors as character_errors
from apps.characters import selectors as character_selectors
from apps.core import clock
from apps.core.errors import ApplicationError, Conflict, ValidationFailed
from apps.llm import selectors as llm_selectors
from apps.llm.types import ImageModelSpec

if TYPE_CHECKING:
    from apps.accounts.models import App, UsageRecord
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
) -> AssetWritten:
    """Store an uploaded picture as one of the character's visual assets.

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


# --- generated images ------------------------------------------------------------------------------------
IMAGE_THUMBNAIL_SIDE = 256


def image_prompt(*, spec: ImageModelSpec, content: dict[str, Any], scene: str) -> str:
    """What the backend is asked to draw: the model's prompt prefix, the character's identity anchors (its
    visual keys, so every picture keeps the same face) and the scene."""
    anchors = (content.get("profile") or {}).get("identity_anchors")
    looks = ""
    if isinstance(anchors, dict):
        looks = ", ".join(f"{key}: {value}" for key, value in anchors.items() if isinstance(value, str) and value)
    parts = [spec.prompt_prefix.strip(), looks, scene.strip()]
    return ", ".join(part for part in parts if part)


def _summary(scene: str) -> str:
    scene = " ".join(scene.split())
    return scene if len(scene) <= 120 else scene[:119] + "…"


def image_create(
    *,
    app_id: str,
    character_id: str,
    content: dict[str, Any],
    kind: str,
    scene: str,
    identity: VisualAsset | None,
    session_id: str = "",
    run_ref: str = "",
    external_user_ref: str = "",
    probe_type: str = "",
    caption: str = "",
    spec: ImageModelSpec | None = None,
) -> GeneratedImage:
    """A pending image for the image job to draw (``image_job_start``, ``image_draw``, ``image_finish``), in
    the caller's transaction (one INSERT: a selfie is created in its turn's outcome): its prompt, seed and
    size fixed now, so a retried drawing asks the backend for the same picture. ``identity`` is the active
    identity asset the backend keeps the face from (listed in ``assets_used``)."""
    spec = spec or llm_selectors.image_model_spec_get(name=content.get("image_model") or None)
    seed = spec.seed
    if seed is None:
        seed = secrets.randbelow(2**31)
    return GeneratedImage.objects.create(
        app_id=app_id,
        character_id=character_id,
        session_id=session_id,
        run_ref=run_ref,
        external_user_ref=external_user_ref,
        kind=kind,
        probe_type=probe_type,
        model=spec.name,
        backend=spec.provider,
        prompt=image_prompt(spec=spec, content=content, scene=scene),
        prompt_summary=_summary(scene),
        negative_prompt=spec.negative_prompt,
        seed=seed,
        width=spec.width,
        height=spec.height,
        assets_used=[identity.id] if identity is not None else [],
        report={"caption": caption} if caption else {},
    )


@dataclass(frozen=True)
class ImageDrawn:
    """A drawing stored but not yet recorded: what ``image_finish`` writes on the image's row."""

    file_name: str
    thumbnail_name: str
    content_type: str
    width: int
    height: int
    seed: int | None
    backend: str


@dataclass(frozen=True)
class ImageJob:
    """One drawing attempt of a pending image: the image, its model and the credits reserved for it, or why
    it may not be drawn (``refused``: a hard budget without room, an image model gone from the catalog)."""

    image: GeneratedImage
    spec: ImageModelSpec | None = None
    reservation: UsageRecord | None = None
    reserved_credits: Decimal = Decimal(0)
    subject: accounts_services.UsageSubject | None = None
    refused: ApplicationError | None = None


def image_job_start(*, image_id: str, attempt: int = 1) -> ImageJob | None:
    """Load a pending image and reserve its credits at the model's ``credits_per_image`` on every budget that
    applies (committed before anything is drawn, as a turn's model call is). None when the image is not
    pending (finished already). When a hard budget has no room the job comes back ``refused``, having
    reserved nothing; a retried drawing (``attempt`` > 1) keeps the reservation its first attempt made."""
    image = GeneratedImage.objects.select_related("character").filter(pk=image_id).first()
    if image is None or image.status != GeneratedImage.Status.PENDING:
        return None
    try:
        spec = llm_selectors.image_model_spec_get(name=image.model)
    except ApplicationError as error:
        return ImageJob(image, refused=error)
    subject = accounts_services.UsageSubject(
        app_id=image.app_id,
        resource_type=ResourceType.IMAGE,
        external_user_ref=image.external_user_ref,
        session_id=image.session_id,
        character=image.character.slug,
        run_ref=image.run_ref or image.id,
        model=spec.name,
        provider=spec.provider,
        purpose=UsagePurpose.IMAGE,
    )
    credits = spec.credits_per_image
    try:
        reservation = accounts_services.usage_reserve(subject=subject, credits=credits, may_exist=attempt > 1)
    except ApplicationError as error:  # BudgetExceeded: nothing was reserved
        return ImageJob(image, spec, refused=error)
    return ImageJob(image, spec, reservation, credits, subject)


def _palette(content: dict[str, Any]) -> tuple[str, ...]:
    palette = (content.get("profile") or {}).get("palette") or content.get("palette")
    return tuple(str(item) for item in palette[:4]) if isinstance(palette, list) else ()


def image_draw(*, job: ImageJob, content: dict[str, Any] | None = None) -> ImageDrawn:
    """Draw the image with its model (the identity asset as the reference picture) and store the file and a
    thumbnail through Django's storage. Writes no row: ``image_finish`` records the outcome. Raises
    ImageBackendError (``transient`` when a retry may help)."""
    image = job.image
    reference = None
    if image.assets_used:
        asset = VisualAsset.objects.filter(pk=image.assets_used[0]).first()
        if asset is not None and asset.file:
            with default_storage.open(asset.file.name, "rb") as handle:
                reference = handle.read()
    content = content or {}
    request = ImageRequest(
        prompt=image.prompt,
        negative_prompt=image.negative_prompt,
        width=image.width or job.spec.width,
        height=image.height or job.spec.height,
        seed=image.seed,
        reference=reference,
        palette=_palette(content),
        label=str(content.get("display_name") or ""),
    )
    rendered = backends.render(job.spec, request)
    extension = {"image/jpeg": "jpg", "image/webp": "webp"}.get(rendered.content_type, "png")
    folder = clock.now().strftime("%Y/%m")
    file_name = default_storage.save(f"images/{folder}/{image.id}.{extension}", ContentFile(rendered.data))
    thumbnail = io.BytesIO()
    with Image.open(io.BytesIO(rendered.data)) as picture:
        small = picture.convert("RGB")
        small.thumbnail((IMAGE_THUMBNAIL_SIDE, IMAGE_THUMBNAIL_SIDE))
        small.save(thumbnail, format="PNG")
    thumbnail_name = default_storage.save(f"images/thumbs/{folder}/{image.id}.png", ContentFile(thumbnail.getvalue()))
    return ImageDrawn(
        file_name,
        thumbnail_name,
        rendered.content_type,
        rendered.width,
        rendered.height,
        rendered.seed,
        rendered.backend,
    )


def image_finish(
    *, job: ImageJob, drawn: ImageDrawn | None = None, error: ApplicationError | None = None
) -> GeneratedImage | None:
    """Record a drawing's outcome: ``drawn`` makes the image ready, ``error`` failed. Must run in the
    transaction that announces it (``image.ready`` / ``image.failed``), so the announcement is made once:
    the conditional UPDATE from ``pending`` is the fence, and None means another attempt finished it.

    The reservation is settled in the same transaction: at the model's ``credits_per_image`` when drawn, at
    zero when the drawing failed. A ``refused`` job reserved nothing and writes nothing to the ledger: such an
    image is never charged."""
    assert transaction.get_connection().in_atomic_block, "image_finish needs a transaction"
    image = job.image
    error = error or job.refused
    if error is not None:
        drawn = None
    now = clock.now()
    if drawn is not None:
        report = {
            **image.report,
            "identity_asset_used": image.assets_used[0] if image.assets_used else None,
            "size": f"{drawn.width}x{drawn.height}",
            "seed": drawn.seed,
            "backend": drawn.backend,
            "model": image.model,
        }
        changes = {
            "status": GeneratedImage.Status.READY,
            "file": drawn.file_name,
            "thumbnail": drawn.thumbnail_name,
            "content_type": drawn.content_type,
            "width": drawn.width,
            "height": drawn.height,
            "seed": drawn.seed,
            "backend": drawn.backend,
            "report": report,
            "credits": job.spec.credits_per_image if job.spec is not None else Decimal(0),
        }
    else:
        code = error.code if error is not None else "image_failed"
        message = error.message if error is not None else "The image could not be drawn."
        changes = {"status": GeneratedImage.Status.FAILED, "error_code": code, "error_message": message[:500]}
    updated = GeneratedImage.objects.filter(pk=image.pk, status=GeneratedImage.Status.PENDING).update(
        **changes, finished_at=now, updated_at=now
    )
    if not updated:
        return None
    if job.refused is None and job.spec is not None and job.subject is not None:
        credits = job.spec.credits_per_image if drawn is not None else Decimal(0)
        call = accounts_services.UsageCall(
            subject=job.subject,
            reservation=job.reservation,
            reserved_credits=job.reserved_credits,
            input_tokens=0,
            output_tokens=0,
            credits=credits,
            outcome="succeeded" if drawn is not None else "failed",
        )
        accounts_services.usage_settle_calls(calls=[call])
    for field, value in {**changes, "finished_at": now}.items():
        setattr(image, field, value)
    return image
