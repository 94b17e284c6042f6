"""Pictures drawn straight from a prompt, for no character: what an OpenAI-style ``images/generations`` asks.

No ``GeneratedImage`` row: such a picture belongs to no character, session or event, and its file is served
by a signed, expiring URL (``selectors.file_url_signed``), as OpenAI's own image URLs expire. The drawing is
metered like every image: the credits of all ``n`` pictures are reserved (committed) before the first one is
drawn, and settled after at what was really drawn, on one ledger row named by a fresh reference.
"""

import secrets
from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from apps.accounts import services as accounts_services
from apps.accounts.types import ResourceType, UsagePurpose
from apps.assets import backends
from apps.assets.services.generated_images import image_prompt
from apps.assets.types import ImageRequest
from apps.core import clock
from apps.core.errors import ApplicationError
from apps.llm import selectors as llm_selectors

EXTENSIONS = {"image/jpeg": "jpg", "image/webp": "webp"}


@dataclass(frozen=True)
class DirectImage:
    """One drawn picture: its bytes, and the storage name of its file when it was stored ('' otherwise)."""

    data: bytes = field(repr=False)
    content_type: str
    width: int
    height: int
    file_name: str = ""


def images_generate(
    *,
    app_id: str,
    prompt: str,
    model: str | None = None,
    n: int = 1,
    size: tuple[int, int] | None = None,
    external_user_ref: str = "",
    store: bool = True,
) -> list[DirectImage]:
    """Draw ``n`` pictures of ``prompt`` with the image model ``model`` (the default one when None), at ``size``
    (the model's when None); ``store`` keeps their files (for URLs), else only the bytes come back.

    Raises ModelNotFound and BudgetExceeded before anything is drawn, and ImageBackendError when the backend
    fails (what was drawn until then is charged, the rest released).
    """
    spec = llm_selectors.image_model_spec_get(name=model or None)
    subject = accounts_services.UsageSubject(
        app_id=app_id,
        resource_type=ResourceType.IMAGE,
        external_user_ref=external_user_ref,
        run_ref=f"imgd_{secrets.token_hex(12)}",
        model=spec.name,
        provider=spec.provider,
        purpose=UsagePurpose.IMAGE,
    )
    reserved = spec.credits_per_image * n
    reservation = accounts_services.usage_reserve(subject=subject, credits=reserved, may_exist=False)
    width, height = size or (spec.width, spec.height)
    drawn: list[DirectImage] = []
    failure: ApplicationError | None = None
    try:
        for _ in range(n):
            seed = spec.seed if spec.seed is not None else secrets.randbelow(2**31)
            request = ImageRequest(
                prompt=image_prompt(spec=spec, content={}, scene=prompt),
                negative_prompt=spec.negative_prompt,
                width=width,
                height=height,
                seed=seed,
            )
            rendered = backends.render(spec, request)
            name = ""
            if store:
                extension = EXTENSIONS.get(rendered.content_type, "png")
                path = f"images/direct/{clock.now():%Y/%m}/{secrets.token_hex(12)}.{extension}"
                name = default_storage.save(path, ContentFile(rendered.data))
            drawn.append(DirectImage(rendered.data, rendered.content_type, rendered.width, rendered.height, name))
    except ApplicationError as error:
        failure = error
    call = accounts_services.UsageCall(
        subject=subject,
        reservation=reservation,
        reserved_credits=reserved,
        input_tokens=0,
        output_tokens=0,
        credits=spec.credits_per_image * len(drawn),
        outcome="failed" if failure is not None else "succeeded",
    )
    with transaction.atomic():
        accounts_services.usage_settle_calls(calls=[call])
    if failure is not None:
        raise failure
    return drawn
