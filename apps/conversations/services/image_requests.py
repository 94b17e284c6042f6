"""Pictures drawn because a client asked for one (not chosen by a turn, as a selfie is): a prompt drawn while
the request waits, optionally inserted into a session, and a character's avatar drawn from its looks.

They take the path every generated image takes (``assets``: a pending row, the credits reserved at the
model's ``credits_per_image`` on every budget and the balance, drawn, settled), only in the request's thread
instead of the images queue. A picture inserted into a session is announced there as ``image.ready`` (kind
``direct``) in the transaction that marks it ready, like a selfie, so the session's log, streams and webhooks
carry it; it adds no text to the conversation, so no later prompt quotes it.
"""

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from apps.accounts import services as accounts_services
from apps.accounts.types import ResourceType
from apps.assets import selectors as assets_selectors
from apps.assets import services as assets_services
from apps.assets.errors import ImageBackendError
from apps.assets.types import GeneratedImage, VisualAsset
from apps.characters import services as characters_services
from apps.conversations import selectors
from apps.conversations.services.selfies import image_job_execute
from apps.core.errors import PaymentRequired
from apps.llm import selectors as llm_selectors

if TYPE_CHECKING:
    from apps.accounts.models import App
    from apps.characters.models import Character

logger = logging.getLogger(__name__)

AVATAR_ASSET_KEY = "avatar"


def image_generate(
    *, app: "App", prompt: str, model: str = "", character_id: str = "", session_id: str = ""
) -> GeneratedImage:
    """Draw ``prompt`` with the image model ``model`` (the default one when empty) and return the ready image.

    With ``session_id`` (one of the app's sessions) the picture belongs to that session's character and is
    announced there as ``image.ready``; otherwise it belongs to ``character_id`` (the caller's, already
    scoped to the app), or with neither to the app's built-in assistant. Raises, before anything is written:
    ModelNotFound, SessionNotFound, BudgetExceeded
    (402). A backend failure after that is ImageBackendError (502), the image recorded as failed and its
    credits settled at zero."""
    spec = llm_selectors.image_model_spec_get(name=model or None)
    external_user_ref = ""
    if session_id:
        session = selectors.session_get(app=app, session_id=session_id)
        character_id, external_user_ref = session.character_id, session.external_user_ref
    accounts_services.budget_preflight(
        app=app, external_user_ref=external_user_ref, resource_type=ResourceType.IMAGE, credits=spec.credits_per_image
    )
    with transaction.atomic():
        if not character_id:
            character_id = characters_services.assistant_character_ensure(app=app).pk
        image = assets_services.image_create(
            app_id=app.pk,
            character_id=character_id,
            content={},  # the prompt as the client wrote it: no character's looks are added
            kind=GeneratedImage.Kind.DIRECT,
            scene=prompt,
            identity=None,
            session_id=session_id,
            external_user_ref=external_user_ref,
            spec=spec,
        )
    # The last attempt at once: a client waiting on the request gets the outcome, not a retry scheduled later.
    image_job_execute(image_id=image.id, attempt=settings.IMAGE_MAX_ATTEMPTS)
    image = assets_selectors.image_get(app_id=app.pk, image_id=image.id)
    if image.status != GeneratedImage.Status.READY:
        if image.error_code == PaymentRequired.code:
            raise PaymentRequired(image.error_message)  # a concurrent spend took the room the preflight saw
        raise ImageBackendError(image.error_message or "The image could not be drawn.")
    return image


def character_avatar_generate(*, app: "App", character: "Character", looks: str, model: str = "") -> VisualAsset:
    """Draw the character from ``looks`` and make the picture its identity asset (the face its selfies keep).

    Raises what ``image_generate`` raises."""
    image = image_generate(app=app, prompt=looks, model=model, character_id=character.pk)
    data, _ = assets_selectors.image_bytes(image_id=image.id)
    written = assets_services.visual_asset_upload(
        app=app,
        file=data,
        asset_key=f"{AVATAR_ASSET_KEY}-{image.id}",
        category=VisualAsset.Category.IDENTITY,
        character=character,
        label="Avatar",
        visual_summary=looks[:500],
        provenance=f"Generated from the appearance prompt by {image.model} ({image.id}).",
    )
    return written.asset


def character_create_with_avatar(
    *, app: "App", data: dict, looks: str, image_model: str
) -> tuple["Character", VisualAsset | None]:
    """Publish a new character from ``data`` (authoring content) and draw its avatar from ``looks``.

    Everything that can refuse the request is checked before the character is written: the content
    (ValidationFailed), the image model (ModelNotFound) and the room for one picture (BudgetExceeded). When the
    image server then fails, the character is kept without an avatar (None)."""
    characters_services.character_validate(data=data)
    spec = llm_selectors.image_model_spec_get(name=image_model or None)
    accounts_services.budget_preflight(
        app=app, external_user_ref="", resource_type=ResourceType.IMAGE, credits=spec.credits_per_image
    )
    published = characters_services.character_publish(app=app, data=data, published_via="studio")
    try:
        asset = character_avatar_generate(app=app, character=published.character, looks=looks, model=spec.name)
    except ImageBackendError:
        logger.warning("The avatar of %s could not be drawn", published.character.pk, exc_info=True)
        asset = None  # the character stands; it has no picture until one is uploaded or drawn
    return published.character, asset
