"""The assets app's errors (each carries its API code and status through ``apps.core.errors``)."""

from apps.core.errors import ApplicationError


class ImageBackendError(ApplicationError):
    """An image backend failed: ``transient`` (unreachable, timed out, 5xx, 429) may succeed on a retry;
    otherwise (a refused request, an answer that is not an image) it will not."""

    code = "image_backend_failed"
    status = 502
    fix = "Check the image model's server and its settings in the catalog."

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient
