"""What the HTTP image backends share: one way to call a server, to sort its failures into transient and
terminal, and to accept only answers that really are pictures.

Every call goes to the model's own server (``spec.base_url``) and nowhere else: redirects are not followed
and proxy settings from the environment are ignored (``trust_env=False``), so no answer can send us to
another host. Errors never quote the URL or the key.
"""

import base64
import binascii
import io
from typing import Any
from urllib.parse import urlsplit

import httpx2
from PIL import Image, UnidentifiedImageError

from apps.assets.errors import ImageBackendError
from apps.assets.types import RenderedImage
from apps.llm.types import ImageModelSpec

# A picture bigger than this (in pixels) is refused before it is decoded: no image model draws one, and
# decoding it could exhaust the worker's memory.
MAX_PIXELS = 4096 * 4096
_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


def client(spec: ImageModelSpec, *, headers: dict[str, str] | None = None, auth=None) -> httpx2.Client:
    """A client for one render: the model's timeout, its server only (no redirects, no proxies from the env)."""
    if not spec.base_url:
        raise ImageBackendError(f"The image model '{spec.name}' has no server address (base URL).")
    return httpx2.Client(
        timeout=spec.timeout_seconds,
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": "Dramatis", **(headers or {})},
        auth=auth,
    )


def url(spec: ImageModelSpec, path: str) -> str:
    return f"{spec.base_url.rstrip('/')}/{path.lstrip('/')}"


def same_origin(spec: ImageModelSpec, other: str) -> bool:
    """Whether ``other`` is on the model's own server (scheme, host and port)."""
    base, candidate = urlsplit(spec.base_url), urlsplit(other)
    return (base.scheme, base.hostname, base.port) == (candidate.scheme, candidate.hostname, candidate.port)


def _server_says(response: httpx2.Response) -> str:
    """A short excerpt of the server's own error message, for the operator."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip()
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("message", ""))[:200]
        for key in ("error", "detail", "message"):
            if body.get(key):
                return str(body[key])[:200]
    return ""


def send(http: httpx2.Client, method: str, target: str, *, what: str, **kwargs) -> httpx2.Response:
    """One request; a 2xx answer or an ImageBackendError: no answer, a timeout, 429 and 5xx are transient
    (a retry may work), any other status is terminal (the server refused this request)."""
    try:
        response = http.request(method, target, **kwargs)
    except httpx2.TimeoutException:
        raise ImageBackendError(f"{what}: the image server did not answer in time.", transient=True) from None
    except httpx2.HTTPError as error:
        raise ImageBackendError(
            f"{what}: could not reach the image server ({type(error).__name__}).", transient=True
        ) from None
    if response.is_success:
        return response
    transient = response.status_code == 429 or response.status_code >= 500
    said = _server_says(response)
    raise ImageBackendError(
        f"{what}: the image server answered {response.status_code}" + (f" ({said})" if said else "") + ".",
        transient=transient,
    )


def json_body(response: httpx2.Response, *, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ImageBackendError(f"{what}: the image server's answer is not JSON.") from None


def base64_bytes(value: Any, *, what: str) -> bytes:
    """Decoded base64 (a ``data:`` URL prefix is tolerated); anything else is an unusable answer."""
    if not isinstance(value, str) or not value:
        raise ImageBackendError(f"{what}: the answer holds no image.")
    if value.startswith("data:") and "," in value:
        value = value.split(",", 1)[1]
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ImageBackendError(f"{what}: the image in the answer is not valid base64.") from None


def picture(data: bytes, *, backend: str, seed: int | None) -> RenderedImage:
    """``data`` as a RenderedImage with its real format and size, once Pillow has decoded all of it; an answer
    that is not a whole PNG, JPEG or WebP picture (or is absurdly large) is terminal."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageBackendError(f"The image server sent a {width}x{height} picture: too large.")
            image_format = image.format or ""
            image.load()  # the whole picture, so a truncated file is caught here
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise ImageBackendError(f"The image server's answer is not an image ({type(error).__name__}).") from None
    content_type = _FORMATS.get(image_format)
    if content_type is None:
        raise ImageBackendError(f"The image server sent a {image_format or 'unknown'} file, not PNG, JPEG or WebP.")
    return RenderedImage(data, content_type, width, height, seed, backend)


def scene_prompt(spec: ImageModelSpec, prompt: str) -> str:
    """The model's prefix (style, quality words), then the scene."""
    prefix = spec.prompt_prefix.strip().rstrip(",")
    return f"{prefix}, {prompt}" if prefix else prompt


def negative_prompt(spec: ImageModelSpec, extra: str) -> str:
    """The model's negative prompt and the request's own, together."""
    return ", ".join(part.strip() for part in (spec.negative_prompt, extra) if part.strip())
