"""The assets app's errors (each carries its API code and status through ``apps.core.errors``)."""

from apps.core.errors import ApplicationError, Conflict, NotFound


class ImageBackendError(ApplicationError):
    """An image backend failed: ``transient`` (unreachable, timed out, 5xx, 429) may succeed on a retry;
    otherwise (a refused request, an answer that is not an image) it will not."""

    code = "image_backend_failed"
    status = 502
    fix = "Check the image model's server and its settings in the catalog."

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class ImageNotFound(NotFound):
    code = "image_not_found"
    fix = "Use an image id this app received in an image.ready event or an image-probe answer."


class ImageNotReady(Conflict):
    """An image's file was asked for while it is still being drawn (or after its drawing failed)."""

    code = "image_not_ready"
    fix = "Wait for the image.ready event of this image."


class VisualNotReady(Conflict):
    """A character that does not pass its selfie gates was asked for an image (``missing`` lists the gates)."""

    code = "visual_not_ready"
    fix = "See GET /v1/characters/{slug}/visual-readiness for what is missing."
