"""Generated images: create a pending one, draw it with its model (metered), record how it ended."""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from PIL import Image

from apps.accounts import services as accounts_services
from apps.accounts.types import ResourceType, UsagePurpose
from apps.assets import backends
from apps.assets.models import GeneratedImage, VisualAsset
from apps.assets.types import ImageRequest
from apps.core import clock
from apps.core.errors import ApplicationError
from apps.llm import selectors as llm_selectors
from apps.llm.types import ImageModelSpec

if TYPE_CHECKING:
    from apps.accounts.models import App, UsageRecord

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


def _files_delete(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:  # already gone: the erasure's aim is met
            continue


def generated_images_erase(*, app: App, session_ids: list[str], external_user_ref: str) -> int:
    """Delete the pictures drawn for an end-user (a GDPR erasure): the app's images of the sessions
    ``session_ids`` or naming ``external_user_ref``, rows now and their files and thumbnails once the caller's
    transaction commits (so a rollback leaves every picture in place). Returns how many rows were deleted."""
    images = GeneratedImage.objects.filter(
        Q(session_id__in=session_ids) | Q(external_user_ref=external_user_ref), app=app
    )
    names = [name for pair in images.values_list("file", "thumbnail") for name in pair if name]
    _, deleted = images.delete()
    if names:
        transaction.on_commit(lambda: _files_delete(names))
    return deleted.get(GeneratedImage._meta.label, 0)
