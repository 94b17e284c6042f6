"""Image backends behind one call: ``render(spec, request)`` draws with the backend ``spec.provider`` names.

Each backend is a module with ``render(spec, request) -> RenderedImage`` that raises ImageBackendError
(``transient`` when a retry may help). ``builtin`` is the offline Pillow renderer; the HTTP backends
(AUTOMATIC1111/Forge, ComfyUI, OpenAI-compatible images) are added beside it.
"""

from apps.assets.backends import builtin
from apps.assets.errors import ImageBackendError
from apps.assets.types import ImageRequest, RenderedImage
from apps.llm.types import ImageModelSpec

BACKENDS = {"builtin": builtin.render}


def render(spec: ImageModelSpec, request: ImageRequest) -> RenderedImage:
    backend = BACKENDS.get(spec.provider)
    if backend is None:
        raise ImageBackendError(f"No image backend named '{spec.provider}'.")
    return backend(spec, request)
