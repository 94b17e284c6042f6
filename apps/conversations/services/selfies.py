"""Selfies in turns: whether a turn may carry one, what the reply call decided, the daily cap, and the image
job that draws it off the turn's path and announces ``image.ready`` / ``image.failed`` on the session.

How a selfie travels:

1. ``selfie_chance`` (before the reply call): a turn may carry a selfie only when the character's version has
   the image thresholds above zero and identity anchors (read from the version the run already loaded: no
   statement), an active identity asset, and room under the day's cap. A plain turn of a character without
   image thresholds costs nothing more than before. A hard budget without room for one image is noted
   (``refused``), not hidden: if the character then wants a selfie, the turn says why there is none.
2. The reply call (the one the turn makes anyway) asks for ``{"reply", "selfie": null | {"scene",
   "caption"}}``; ``selfie_reply_read`` takes the reply text and the wish from it, leniently: an answer that
   is not the JSON asked for is the reply as text, with no selfie. Never a second model call.
3. In the turn's outcome transaction ``selfie_events`` takes a slot of the day's cap (one conditional
   statement) and creates the pending image, or appends ``image.skipped`` with the reason (``daily_image_cap``,
   ``budget_exceeded``). After commit the image job is queued (``SELFIE_DRAW_TASK``, Celery queue
   ``images``): the text reply is committed and announced before anything is drawn.
4. ``image_job_execute`` (the task): reserve the credits (committed), draw, store, and in one transaction mark
   the image ready (or failed), settle the credits and append ``image.ready`` (or ``image.failed``). The
   conditional UPDATE of the image is the fence: however often the job runs, the event is appended once.

The assets app does the drawing and owns the rows; this module appends the events (assets never imports
conversations).
"""

import json
import logging
import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import connection, transaction

from apps.accounts import selectors as accounts_selectors
from apps.accounts import services as accounts_services
from apps.accounts.types import ResourceType
from apps.assets import selectors as assets_selectors
from apps.assets import services as assets_services
from apps.assets.errors import ImageBackendError, VisualNotReady
from apps.assets.types import GeneratedImage, VisualAsset
from apps.characters import selectors as characters_selectors
from apps.conversations import selectors
from apps.conversations.errors import SessionNotFound
from apps.conversations.models import Run, SelfieDayCount, Session
from apps.conversations.proactive_rules import zone
from apps.conversations.services.events import NewEvent, events_append
from apps.core import clock, executor
from apps.core.errors import ApplicationError
from apps.llm import selectors as llm_selectors
from apps.llm.types import ChatResult

logger = logging.getLogger(__name__)

# Named, not imported: the tasks module imports these services.
SELFIE_DRAW_TASK = "apps.conversations.tasks.selfie_draw_task"
SKIP_DAILY_CAP = "daily_image_cap"
SKIP_BUDGET = "budget_exceeded"


@dataclass(frozen=True)
class SelfieChance:
    """A turn that may carry a selfie: the thresholds the prompt states, the identity asset the picture keeps,
    the end-user's local day the cap counts, and ``refused`` (a budget code) when one may not be paid for."""

    proactivity: float
    comfort: float
    cap: int
    identity: VisualAsset
    day: date
    refused: str = ""


def _positive(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _content_allows(content: dict) -> bool:
    """The readiness gates a version's content decides by itself (``assets.selectors.visual_readiness`` has
    the same rules): image thresholds above zero and identity anchors as a dict of visual keys."""
    thresholds = content.get("behavioral_thresholds")
    if not isinstance(thresholds, dict):
        return False
    if not all(_positive(thresholds.get(name)) for name in ("image_proactivity", "selfie_comfort", "daily_image_cap")):
        return False
    anchors = (content.get("profile") or {}).get("identity_anchors")
    return isinstance(anchors, dict) and any(isinstance(value, str) and value.strip() for value in anchors.values())


def local_day(session: Session) -> date:
    """Today in the end-user's zone (the session's), the day the cap counts (as proactive caps do)."""
    return clock.now().astimezone(zone(session.timezone)).date()


def selfie_chance(*, run: Run) -> SelfieChance | None:
    """Whether this turn may carry a selfie (module docstring, step 1), or None. Costs no statement unless
    the character's version has image thresholds and anchors; then two reads (the identity asset, the day's
    count), plus the budget preflight for apps with budgets."""
    session = run.session
    content = session.character_version.content
    if not _content_allows(content):
        return None
    identity = assets_selectors.selfie_identity(character_id=session.character_id)
    if identity is None:
        return None
    thresholds = content["behavioral_thresholds"]
    cap = int(thresholds["daily_image_cap"])
    day = local_day(session)
    sent = selectors.selfie_day_count(
        app_id=session.app_id, character_id=session.character_id, external_user_ref=session.external_user_ref, day=day
    )
    if sent >= cap:
        return None
    refused = ""
    if accounts_selectors.budget_policies_exist(app=session.app):
        try:
            spec = llm_selectors.image_model_spec_get(name=content.get("image_model") or None)
            accounts_services.budget_preflight(
                app=session.app,
                external_user_ref=session.external_user_ref,
                resource_type=ResourceType.IMAGE,
                credits=spec.credits_per_image,
            )
        except ApplicationError as error:
            refused = error.code
    return SelfieChance(
        float(thresholds["image_proactivity"]), float(thresholds["selfie_comfort"]), cap, identity, day, refused
    )


@dataclass(frozen=True)
class SelfieWish:
    scene: str
    caption: str = ""


_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def _json_object(text: str) -> dict | None:
    """A JSON object in ``text``: the whole of it, or the outermost braces (models wrap JSON in code fences)."""
    for candidate in (text, *(match.group(0) for match in [_JSON_OBJECT.search(text)] if match)):
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def selfie_reply_read(result: ChatResult) -> tuple[str, SelfieWish | None]:
    """The reply text and the selfie wish of a reply call that was asked for JSON. Lenient by design: a
    selfie is optional, the reply is not, so an answer without the JSON asked for is the reply as text."""
    data = result.data if isinstance(result.data, dict) else _json_object(result.text)
    if data is None:
        return result.text, None
    reply = data.get("reply")
    if not isinstance(reply, str) or not reply.strip():
        reply = data.get("text") if isinstance(data.get("text"), str) else None
    if reply is None:
        return result.text, None
    wish = data.get("selfie")
    if isinstance(wish, dict) and isinstance(wish.get("scene"), str) and wish["scene"].strip():
        caption = wish.get("caption") if isinstance(wish.get("caption"), str) else ""
        return reply, SelfieWish(wish["scene"].strip()[:1000], caption.strip()[:300])
    return reply, None


def selfie_slot_take(*, app_id: str, character_id: str, external_user_ref: str, day: date, cap: int) -> bool:
    """Take one slot of the day's cap if one is left: a single INSERT ... ON CONFLICT DO UPDATE ... WHERE, so
    concurrent turns queue on the counter row and at most ``cap`` of them ever succeed."""
    table = SelfieDayCount._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (app_id, character_id, external_user_ref, day, count) "  # noqa: S608
            f"VALUES (%s, %s, %s, %s, 1) "
            f"ON CONFLICT (app_id, character_id, external_user_ref, day) "
            f"DO UPDATE SET count = {table}.count + 1 WHERE {table}.count < %s RETURNING count",
            [app_id, character_id, external_user_ref, day, cap],
        )
        return cursor.fetchone() is not None


def selfie_events(*, run: Run, chance: SelfieChance, wish: SelfieWish) -> tuple[list[NewEvent], dict | None]:
    """Inside the turn's outcome transaction: create the pending selfie (``selfie_draw_queue`` hands it over)
    and return what the reply payload names (``{"image_id", "status": "pending"}``), or the ``image.skipped``
    event that says why there is none."""
    session = run.session
    reason = chance.refused
    if not reason and not selfie_slot_take(
        app_id=session.app_id,
        character_id=session.character_id,
        external_user_ref=session.external_user_ref,
        day=chance.day,
        cap=chance.cap,
    ):
        reason = SKIP_DAILY_CAP
    if reason:
        payload = {"reason": reason, "run_ref": run.id, "scene": wish.scene[:200]}
        return [NewEvent("image.skipped", payload, "character", run.id)], None
    image = assets_services.image_create(
        app_id=session.app_id,
        character_id=session.character_id,
        content=session.character_version.content,
        kind=GeneratedImage.Kind.SELFIE,
        scene=wish.scene,
        caption=wish.caption,
        identity=chance.identity,
        session_id=session.id,
        run_ref=run.id,
        external_user_ref=session.external_user_ref,
    )
    return [], {"image_id": image.id, "status": "pending", "caption": wish.caption}


def selfie_draw_queue(*, image_id: str) -> None:
    """Queue the drawing after commit. Call it after the turn's events were appended, so the reply's
    announcement (registered first) goes out before the job is even handed over."""
    transaction.on_commit(lambda: executor.submit(SELFIE_DRAW_TASK, image_id))


@dataclass(frozen=True)
class ImageJobOutcome:
    """What became of one drawing attempt; ``retry_in`` is set when the job should run again."""

    image_id: str
    status: str  # ready | failed | queued | skipped
    retry_in: float | None = None


def image_event(image: GeneratedImage) -> NewEvent:
    """``image.ready`` or ``image.failed`` for a finished image. The payload names the image by id: the signed
    URLs are added each time the event is read or delivered, never stored."""
    base = {"image_id": image.id, "kind": image.kind, "run_ref": image.run_ref or None}
    if image.kind == GeneratedImage.Kind.PROBE:
        base["probe_id"] = image.id
        base["probe_type"] = image.probe_type
    if image.status == GeneratedImage.Status.READY:
        payload = {
            **base,
            "width": image.width,
            "height": image.height,
            "prompt_summary": image.prompt_summary,
            "caption": image.report.get("caption", ""),
        }
        return NewEvent("image.ready", payload, "character", image.run_ref or None)
    payload = {**base, "code": image.error_code, "message": image.error_message, "retryable": False}
    return NewEvent("image.failed", payload, "character", image.run_ref or None)


def _finish(job: assets_services.ImageJob, **outcome) -> str:
    with transaction.atomic():
        image = assets_services.image_finish(job=job, **outcome)
        if image is None:
            return "skipped"  # another attempt finished it and announced it
        if image.session_id:
            events_append(session_id=image.session_id, events=[image_event(image)])
    return image.status


def image_job_execute(*, image_id: str, attempt: int = 1) -> ImageJobOutcome:
    """Draw one pending image and announce it (module docstring, step 4); safe to run any number of times.

    A transient backend error is retried with exponential backoff until IMAGE_MAX_ATTEMPTS drawings; then,
    like any other error, the image fails (``image.failed`` with the code) and its reservation settles at zero.
    """
    job = assets_services.image_job_start(image_id=image_id, attempt=attempt)
    if job is None:
        return ImageJobOutcome(image_id, "skipped")
    if job.refused is not None:
        return ImageJobOutcome(image_id, _finish(job, error=job.refused))
    try:
        drawn = assets_services.image_draw(job=job)
    except ImageBackendError as error:
        if error.transient and attempt < settings.IMAGE_MAX_ATTEMPTS:
            logger.info("Image %s attempt %s failed transiently: %s", image_id, attempt, error.message)
            return ImageJobOutcome(image_id, "queued", settings.IMAGE_RETRY_BACKOFF_SECONDS * 2 ** (attempt - 1))
        return ImageJobOutcome(image_id, _finish(job, error=error))
    except ApplicationError as error:
        return ImageJobOutcome(image_id, _finish(job, error=error))
    except Exception as error:  # a picture the backend sent that Pillow cannot read, a storage failure
        logger.exception("Image %s could not be drawn", image_id)
        failure = ImageBackendError(f"The image could not be drawn or stored ({type(error).__name__}).")
        return ImageJobOutcome(image_id, _finish(job, error=failure))
    return ImageJobOutcome(image_id, _finish(job, drawn=drawn))


def images_recover(*, older_than_seconds: float | None = None) -> list[str]:
    """The ids of images still pending this long after their last change (their drawing job was lost: a worker
    died, a broker was down when it was handed off), each claimed by touching ``updated_at`` so the next sweep
    leaves it alone for as long again. Their jobs are handed off again as retries (``attempt`` 2: the credits a
    first attempt may have reserved are kept, not reserved twice); a job that finished meanwhile is skipped."""
    cutoff = clock.now() - timedelta(seconds=older_than_seconds or settings.IMAGE_RECOVER_AFTER_SECONDS)
    with transaction.atomic():
        ids = list(
            GeneratedImage.objects.select_for_update(skip_locked=True)
            .filter(status=GeneratedImage.Status.PENDING, updated_at__lt=cutoff)
            .order_by("updated_at")
            .values_list("id", flat=True)[:200]
        )
        GeneratedImage.objects.filter(pk__in=ids).update(updated_at=clock.now())
    return ids


# --- image probes ----------------------------------------------------------------------------------------
# What each probe asks the image model to draw: a fixed scene per probe type, so that authors can compare the
# same probe across characters and over time (the consistency report says what the backend was given).
PROBE_SCENES = {
    "identity_selfie": "a close-up selfie, face clearly visible, soft daylight, plain background",
    "full_body_identity": "a full-body photo standing upright, whole figure in frame, plain background",
    "wardrobe_variation": "a selfie wearing a different outfit than usual, same face and hair",
    "accessory_carry_forward": "a selfie wearing the character's usual accessories, clearly visible",
    "same_scene_followup": "a second photo in the same place as the previous picture, a moment later",
    "prop_usage": "a photo holding and using a favourite everyday object",
    "forbidden_visual_check": "a casual selfie; nothing the character would never show appears",
}
PROBE_TYPES = tuple(PROBE_SCENES)


def _probe_scene(*, probe_type: str, session: Session, content: dict) -> str:
    scene = PROBE_SCENES[probe_type]
    if probe_type == "same_scene_followup":
        previous = assets_selectors.image_latest_summary(session_id=session.id)
        if previous:
            scene = f"{scene}: {previous}"
    if probe_type == "forbidden_visual_check":
        forbidden = content.get("forbidden_style") or []
        if forbidden:
            scene = f"{scene} (never: {'; '.join(str(item) for item in forbidden[:8])})"
    return scene


def image_probe_start(*, app, character_slug: str, session_id: str, probe_type: str) -> GeneratedImage:
    """Start an image probe of ``probe_type`` in ``session_id`` (a session of the app on that character): the
    same gates as a selfie except the daily cap (the character's visual readiness, then its budgets), drawn on
    the images queue and announced as ``image.ready`` on that session. Raises CharacterNotFound (the path's
    character first, as on every route under it), SessionNotFound for a session that is not the app's or not
    the character's, VisualNotReady, BudgetExceeded."""
    characters_selectors.character_get(app=app, slug=character_slug)
    session = (
        Session.objects.select_related("character", "character_version")
        .filter(app=app, pk=session_id, character__slug=character_slug)
        .first()
    )
    if session is None:
        raise SessionNotFound(f"No session '{session_id}' of the character '{character_slug}'.")
    content = session.character_version.content
    readiness = assets_selectors.visual_readiness(character=session.character, content=content)
    if not readiness.ready:
        missing = [gate.missing for gate in readiness.gates if not gate.ok]
        raise VisualNotReady(f"The character cannot be drawn yet: {' '.join(missing)}")
    spec = llm_selectors.image_model_spec_get(name=content.get("image_model") or None)
    accounts_services.budget_preflight(
        app=app,
        external_user_ref=session.external_user_ref,
        resource_type=ResourceType.IMAGE,
        credits=spec.credits_per_image,
    )
    with transaction.atomic():
        image = assets_services.image_create(
            app_id=app.pk,
            character_id=session.character_id,
            content=content,
            kind=GeneratedImage.Kind.PROBE,
            probe_type=probe_type,
            scene=_probe_scene(probe_type=probe_type, session=session, content=content),
            identity=assets_selectors.selfie_identity(character_id=session.character_id),
            session_id=session.id,
            external_user_ref=session.external_user_ref,
            spec=spec,
        )
        transaction.on_commit(lambda: executor.submit(SELFIE_DRAW_TASK, image.id))
    return image
