"""ComfyUI: the catalog row's workflow template (API format) with its placeholders filled, queued with
``POST /prompt``, followed with ``GET /history/{prompt_id}`` until its outputs appear, and the first output
image fetched with ``GET /view``.

Placeholders (``apps.llm.types.COMFYUI_PLACEHOLDERS``): a string input that is exactly ``{{name}}`` becomes
the value itself (a number for ``seed``, ``width``, ``height``, ``steps``, ``cfg``, ``denoise``); inside a
longer string the value is written in as text. ``prompt`` is the model's prefix then the scene,
``negative_prompt`` the model's and the request's, ``seed`` the request's or the model's or a fresh random
one (reported back only when the workflow uses it), ``denoise`` is ``1 - reference_strength``.
``{{reference_image}}`` (a LoadImage node's ``image``) makes the backend upload the identity image first
(``POST /upload/image``, multipart, under a name derived from its bytes, so the same face is stored once)
and put the stored name there; a workflow that uses it cannot draw without a reference.

Polling starts at 50 ms and backs off to half a second, all within the model's timeout; a run that ComfyUI
reports as failed is terminal, one that does not finish in time is transient.
"""

import hashlib
import io
import secrets
import time
import uuid
from typing import Any

from PIL import Image

from apps.assets.backends import automatic1111, transport
from apps.assets.errors import ImageBackendError
from apps.assets.types import ImageRequest, RenderedImage
from apps.llm.types import PLACEHOLDER_PATTERN, ImageModelSpec, workflow_placeholders

WHAT = "ComfyUI"
FIRST_POLL_SECONDS = 0.05
LONGEST_POLL_SECONDS = 0.5


def _fill(node: Any, values: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        return {key: _fill(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(value, values) for value in node]
    if isinstance(node, str):
        whole = PLACEHOLDER_PATTERN.fullmatch(node.strip())
        if whole and whole.group(1) in values:
            return values[whole.group(1)]
        return PLACEHOLDER_PATTERN.sub(lambda match: str(values.get(match.group(1), match.group(0))), node)
    return node


def filled_workflow(spec: ImageModelSpec, request: ImageRequest, *, seed: int, reference_name: str = "") -> dict:
    """The template with every placeholder replaced by this request's values."""
    values = {
        "prompt": transport.scene_prompt(spec, request.prompt),
        "negative_prompt": transport.negative_prompt(spec, request.negative_prompt),
        "seed": seed,
        "width": request.width,
        "height": request.height,
        "steps": spec.steps,
        "cfg": spec.cfg_scale,
        "denoise": automatic1111.denoising_strength(request.reference_strength) if request.reference else 1.0,
        "reference_image": reference_name,
    }
    return _fill(spec.workflow, values)


def _upload_reference(http, spec: ImageModelSpec, reference: bytes) -> str:
    try:
        with Image.open(io.BytesIO(reference)) as image:
            extension = (image.format or "png").lower()
    except OSError:
        raise ImageBackendError("The reference image could not be read.") from None
    name = f"dramatis-{hashlib.sha256(reference).hexdigest()[:24]}.{extension}"
    response = transport.send(
        http,
        "POST",
        transport.url(spec, "/upload/image"),
        what=f"{WHAT} upload",
        files={"image": (name, reference, f"image/{extension}")},
        data={"type": "input", "overwrite": "true"},
    )
    stored = transport.json_body(response, what=f"{WHAT} upload")
    if not isinstance(stored, dict) or not stored.get("name"):
        raise ImageBackendError(f"{WHAT} upload: the answer does not name the stored image.")
    return f"{stored['subfolder']}/{stored['name']}" if stored.get("subfolder") else str(stored["name"])


def _first_output(entry: dict) -> dict | None:
    """The first saved image of a finished run (``type: output``, else a preview)."""
    found = []
    for output in (entry.get("outputs") or {}).values():
        for image in (output or {}).get("images") or []:
            if isinstance(image, dict) and image.get("filename"):
                found.append(image)
    saved = [image for image in found if image.get("type", "output") == "output"]
    return (saved or found or [None])[0]


def _wait_for_output(http, spec: ImageModelSpec, prompt_id: str, deadline: float) -> dict:
    pause = FIRST_POLL_SECONDS
    while True:
        response = transport.send(http, "GET", transport.url(spec, f"/history/{prompt_id}"), what=f"{WHAT} history")
        history = transport.json_body(response, what=f"{WHAT} history")
        entry = history.get(prompt_id) if isinstance(history, dict) else None
        if isinstance(entry, dict):
            status = entry.get("status") or {}
            if status.get("status_str") == "error":
                raise ImageBackendError(f"{WHAT}: the workflow failed on the server.")
            image = _first_output(entry)
            if image is not None:
                return image
            if status.get("completed"):
                raise ImageBackendError(f"{WHAT}: the workflow finished without an output image.")
        if time.monotonic() + pause > deadline:
            raise ImageBackendError(f"{WHAT}: the picture was not ready in time.", transient=True)
        time.sleep(pause)
        pause = min(LONGEST_POLL_SECONDS, pause * 2)


def render(spec: ImageModelSpec, request: ImageRequest) -> RenderedImage:
    deadline = time.monotonic() + spec.timeout_seconds
    used = workflow_placeholders(spec.workflow)
    chosen = request.seed if request.seed is not None else spec.seed
    seed = chosen if chosen is not None else secrets.randbelow(2**32)
    if "reference_image" in used and not request.reference:
        raise ImageBackendError(f"{WHAT}: this workflow loads a reference image, and the request has none.")
    headers = {"Authorization": f"Bearer {spec.api_key}"} if spec.api_key else {}  # a proxy in front of it
    with transport.client(spec, headers=headers) as http:
        reference_name = _upload_reference(http, spec, request.reference) if "reference_image" in used else ""
        workflow = filled_workflow(spec, request, seed=seed, reference_name=reference_name)
        response = transport.send(
            http,
            "POST",
            transport.url(spec, "/prompt"),
            what=WHAT,
            json={"prompt": workflow, "client_id": uuid.uuid4().hex},
        )
        queued = transport.json_body(response, what=WHAT)
        prompt_id = queued.get("prompt_id") if isinstance(queued, dict) else None
        if not isinstance(prompt_id, str) or not prompt_id:
            raise ImageBackendError(f"{WHAT}: the answer to /prompt has no prompt_id.")
        image = _wait_for_output(http, spec, prompt_id, deadline)
        params = {
            "filename": image["filename"],
            "subfolder": image.get("subfolder", ""),
            "type": image.get("type", "output"),
        }
        data = transport.send(http, "GET", transport.url(spec, "/view"), what=f"{WHAT} view", params=params).content
    return transport.picture(data, backend="comfyui", seed=seed if "seed" in used else None)
