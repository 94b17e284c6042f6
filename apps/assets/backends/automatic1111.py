"""AUTOMATIC1111 / Forge WebUI (started with ``--api``): ``POST /sdapi/v1/txt2img``, or ``/sdapi/v1/img2img``
when the request carries the identity image as a reference.

What is sent: ``prompt`` (the model's prefix, then the scene), ``negative_prompt`` (the model's and the
request's), ``seed`` (-1 asks the server for a fresh one), ``width``, ``height``, ``steps``, ``cfg_scale``,
one picture (``batch_size``/``n_iter`` 1, ``send_images`` on, ``save_images`` off), and, when the catalog
row names an upstream model, ``override_settings.sd_model_checkpoint`` (the server switches checkpoint for
this call). img2img adds ``init_images`` (the reference, base64) and ``denoising_strength = 1 -
reference_strength`` (kept within 0.05..1): the more of the reference to keep, the less the sampler may
repaint. The answer is ``{"images": [base64...], "parameters": {...}, "info": "<JSON string>"}``; the seed
the server used is read from ``info``.

A key (``api_key_env``) of the form ``user:password`` is sent as HTTP basic auth (``--api-auth``); any
other key as a bearer token (for a proxy in front of the server).
"""

import base64
import json
from typing import Any

from apps.assets.backends import transport
from apps.assets.errors import ImageBackendError
from apps.assets.types import ImageRequest, RenderedImage
from apps.llm.types import ImageModelSpec

WHAT = "AUTOMATIC1111"


def denoising_strength(reference_strength: float) -> float:
    return round(min(1.0, max(0.05, 1.0 - reference_strength)), 3)


def _seed_of(info: Any) -> int | None:
    """The seed the server reports in ``info`` (a JSON string), or None."""
    try:
        parsed = json.loads(info) if isinstance(info, str) else info
    except ValueError:
        return None
    seed = parsed.get("seed") if isinstance(parsed, dict) else None
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


def payload(spec: ImageModelSpec, request: ImageRequest) -> dict[str, Any]:
    seed = request.seed if request.seed is not None else spec.seed
    body: dict[str, Any] = {
        "prompt": transport.scene_prompt(spec, request.prompt),
        "negative_prompt": transport.negative_prompt(spec, request.negative_prompt),
        "seed": -1 if seed is None else seed,
        "width": request.width,
        "height": request.height,
        "steps": spec.steps,
        "cfg_scale": spec.cfg_scale,
        "batch_size": 1,
        "n_iter": 1,
        "send_images": True,
        "save_images": False,
    }
    if spec.upstream_model:
        body["override_settings"] = {"sd_model_checkpoint": spec.upstream_model}
    if request.reference:
        body["init_images"] = [base64.b64encode(request.reference).decode("ascii")]
        body["denoising_strength"] = denoising_strength(request.reference_strength)
    return body


def _auth(spec: ImageModelSpec) -> tuple[dict[str, str], tuple[str, str] | None]:
    if not spec.api_key:
        return {}, None
    if ":" in spec.api_key:
        user, password = spec.api_key.split(":", 1)
        return {}, (user, password)
    return {"Authorization": f"Bearer {spec.api_key}"}, None


def render(spec: ImageModelSpec, request: ImageRequest) -> RenderedImage:
    endpoint = "/sdapi/v1/img2img" if request.reference else "/sdapi/v1/txt2img"
    headers, auth = _auth(spec)
    with transport.client(spec, headers=headers, auth=auth) as http:
        response = transport.send(http, "POST", transport.url(spec, endpoint), what=WHAT, json=payload(spec, request))
    answer = transport.json_body(response, what=WHAT)
    images = answer.get("images") if isinstance(answer, dict) else None
    if not isinstance(images, list) or not images:
        raise ImageBackendError(f"{WHAT}: the answer holds no image.")
    data = transport.base64_bytes(images[0], what=WHAT)
    seed = _seed_of(answer.get("info"))
    if seed is None:  # an answer without info: the seed asked for, if one was
        seed = request.seed if request.seed is not None else spec.seed
    return transport.picture(data, backend="automatic1111", seed=seed)
