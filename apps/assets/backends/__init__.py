"""Image backends behind one call: ``render(spec, request)`` draws with the backend ``spec.provider`` names.

Each backend is a module with ``render(spec, request) -> RenderedImage`` that raises ImageBackendError
(``transient`` when a retry may help: no answer, a timeout, 429, 5xx; otherwise terminal: a refused
request, an answer that is not a picture). ``builtin`` is the offline Pillow renderer; ``automatic1111``,
``comfyui`` and ``openai_images`` are HTTP clients that talk to the model's ``base_url`` only
(``transport``). Every answer is decoded with Pillow before it is accepted, and ``RenderedImage`` carries
its real format and size.

The picture's size is the request's (``ImageRequest.width``/``height``): callers take it from the spec
(the catalog row's size) unless they have a reason to ask for another.
"""

from apps.assets.backends import automatic1111, builtin, comfyui, openai_images
from apps.assets.errors import ImageBackendError
from apps.assets.types import ImageRequest, RenderedImage
from apps.llm.types import ImageModelSpec

BACKENDS = {
    "builtin": builtin.render,
    "automatic1111": automatic1111.render,
    "comfyui": comfyui.render,
    "openai_images": openai_images.render,
}


def render(spec: ImageModelSpec, request: ImageRequest) -> RenderedImage:
    backend = BACKENDS.get(spec.provider)
    if backend is None:
        raise ImageBackendError(f"No image backend named '{spec.provider}'.")
    return backend(spec, request)
