"""Plain values of the assets app: what is asked of an image backend and what it answers, and the visual
readiness of a character (the three gates a selfie needs)."""

from dataclasses import dataclass, field
from datetime import datetime

from apps.assets.models import GeneratedImage, VisualAsset

__all__ = [
    "AssetWritten",
    "GateState",
    "GeneratedImage",
    "ImageRequest",
    "RenderedImage",
    "SignedFile",
    "SignedUrl",
    "VisualAsset",
    "VisualReadiness",
]


@dataclass(frozen=True)
class ImageRequest:
    """One picture to draw. ``reference`` is the identity asset's image (PNG bytes) that backends which can
    (img2img, a reference input) keep the face from; ``palette`` (hex colours) and ``label`` are for the
    built-in renderer."""

    prompt: str
    negative_prompt: str = ""
    width: int = 512
    height: int = 512
    seed: int | None = None
    reference: bytes | None = field(default=None, repr=False)
    reference_strength: float = 0.35
    palette: tuple[str, ...] = ()
    label: str = ""


@dataclass(frozen=True)
class RenderedImage:
    """What a backend drew: the encoded file and what it is."""

    data: bytes = field(repr=False)
    content_type: str
    width: int
    height: int
    seed: int | None
    backend: str


@dataclass(frozen=True)
class GateState:
    """One selfie gate: whether it holds and, when it does not, what is missing."""

    name: str
    ok: bool
    missing: str = ""


@dataclass(frozen=True)
class VisualReadiness:
    """``ready`` only when every gate holds: an active identity asset, identity anchors as a dict of visual
    keys, and image thresholds above zero (``image_proactivity``, ``selfie_comfort``, ``daily_image_cap``)."""

    gates: tuple[GateState, ...]

    @property
    def ready(self) -> bool:
        return all(gate.ok for gate in self.gates)


@dataclass(frozen=True)
class AssetWritten:
    """A visual asset just uploaded, registered or promoted, and the identity asset it retired (a new active
    identity replaces the previous one), if any."""

    asset: VisualAsset
    retired: VisualAsset | None = None


@dataclass(frozen=True)
class SignedUrl:
    """A URL that serves one stored file to whoever holds it, until ``expires_at``."""

    url: str
    expires_at: datetime


@dataclass(frozen=True)
class SignedFile:
    """What a valid signed URL names: the file's name in storage and its content type."""

    name: str
    content_type: str
