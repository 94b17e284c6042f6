"""OpenAI-compatible image generation: ``POST {base_url}/images/generations`` with ``model``, ``prompt`` (the
model's prefix, then the scene), ``size`` (``WIDTHxHEIGHT``), ``n: 1`` and ``response_format: b64_json``,
and the key as ``Authorization: Bearer``.

The answer's ``data[0].b64_json`` is the picture. A server that answers with ``data[0].url`` instead is
followed only when that URL is on the model's own server (same scheme, host and port); any other URL is
refused as a terminal error, so an answer can never make us fetch from an arbitrary host.

Not sent, because the API has no place for them: the negative prompt, the seed (the picture reports none)
and the reference image. The identity is kept through the prompt alone (the scene prompt carries the
character's visual description).
"""

from apps.assets.backends import transport
from apps.assets.errors import ImageBackendError
from apps.assets.types import ImageRequest, RenderedImage
from apps.llm.types import ImageModelSpec

WHAT = "OpenAI images"


def payload(spec: ImageModelSpec, request: ImageRequest) -> dict:
    return {
        "model": spec.upstream_model or spec.name,
        "prompt": transport.scene_prompt(spec, request.prompt),
        "size": f"{request.width}x{request.height}",
        "n": 1,
        "response_format": "b64_json",
    }


def render(spec: ImageModelSpec, request: ImageRequest) -> RenderedImage:
    headers = {"Authorization": f"Bearer {spec.api_key}"} if spec.api_key else {}
    with transport.client(spec, headers=headers) as http:
        response = transport.send(
            http, "POST", transport.url(spec, "/images/generations"), what=WHAT, json=payload(spec, request)
        )
        answer = transport.json_body(response, what=WHAT)
        data = answer.get("data") if isinstance(answer, dict) else None
        first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else None
        if first is None:
            raise ImageBackendError(f"{WHAT}: the answer holds no image.")
        if first.get("b64_json"):
            picture = transport.base64_bytes(first["b64_json"], what=WHAT)
        elif isinstance(first.get("url"), str) and first["url"]:
            if not transport.same_origin(spec, first["url"]):
                raise ImageBackendError(f"{WHAT}: the answer points at another host; only the model's server is used.")
            # The same server the key already goes to, so the same client (and key) may fetch it.
            picture = transport.send(http, "GET", first["url"], what=f"{WHAT} download").content
        else:
            raise ImageBackendError(f"{WHAT}: the answer holds no image.")
    return transport.picture(picture, backend="openai_images", seed=None)
