"""The assets app's errors (each carries its API code and status through ``apps.core.errors``)."""

from apps.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied, ValidationFailed


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


class ImageRejected(ValidationFailed):
    """An upload (or a registered URL's answer) that is not a real PNG, JPEG or WebP image within the limits.

    A validation failure of the ``file`` field, so every surface renders it like one (422), under its own code.
    """

    code = "image_rejected"
    fix = (
        "Send a PNG, JPEG or WebP image (judged by decoding it, not by its name or content type) within the "
        "byte and pixel limits (ASSET_MAX_BYTES, ASSET_MAX_PIXELS)."
    )

    def __init__(self, reason: str, *, field: str = "file") -> None:
        super().__init__({field: [reason]}, message=f"The image was rejected: {reason}")
        self.reason = reason


class VisualAssetNotFound(NotFound):
    code = "visual_asset_not_found"
    fix = "Check the asset id; list them with GET /v1/characters/{slug}/visual-assets."


class IdentityRequired(Conflict):
    """Anything but an identity before the character has an active identity asset: the face comes first."""

    code = "identity_required"
    fix = "Upload the character's identity asset first (category 'identity'), then the other assets."


class VisualAssetKeyTaken(Conflict):
    code = "visual_asset_key_taken"
    fix = "Choose another asset_key; each key is unique per character (retired assets keep theirs)."


class AssetUrlRefused(ValidationFailed):
    """A register-url URL that is not https, or whose host the SSRF guard refuses, or that could not be fetched."""

    code = "asset_url_refused"
    fix = (
        "Send an https:// URL of a publicly reachable host that answers 200 with the image. Private, loopback, "
        "link-local and metadata addresses are refused unless the operator lists them in "
        "ASSET_FETCH_ALLOWED_NETWORKS."
    )

    def __init__(self, reason: str) -> None:
        super().__init__({"url": [reason]}, message=f"The URL was refused: {reason}")


class FileUrlInvalid(PermissionDenied):
    """A signed file URL whose token was not minted by us (forged or altered)."""

    code = "file_url_invalid"
    fix = "Use the URL exactly as the API returned it."


class FileUrlExpired(PermissionDenied):
    code = "file_url_expired"
    fix = "Signed file URLs expire; read the resource again for a fresh URL."


class StoredFileMissing(NotFound):
    code = "file_not_found"
    fix = "The file is no longer stored; read the resource again."


# --- Character Cards (``apps.assets.cards``) -----------------------------------------------------------------
class CardRejected(ValidationFailed):
    """A card file refused before anything is written (422). Each subclass names one reason by its code; the
    reason is also the ``file`` field's problem, so every surface renders it like a validation failure."""

    code = "card_invalid"
    fix = (
        "Send a Character Card: a PNG with a 'chara' (V2) or 'ccv3' (V3) tEXt chunk, the card's JSON, or a CHARX "
        "zip with card.json at its root. See docs/integrators/cards.md for the limits."
    )

    def __init__(self, reason: str, *, field: str = "file") -> None:
        super().__init__({field: [reason]}, message=f"The card was rejected: {reason}")
        self.reason = reason


class CardUnsupported(CardRejected):
    code = "card_unsupported"


class CardTooLarge(CardRejected):
    code = "card_too_large"
    fix = "Send a smaller card (CARD_MAX_BYTES for the file, CARD_MAX_CHUNK_BYTES for its card chunk)."


class CardInvalidPng(CardRejected):
    code = "card_invalid_png"
    fix = "The PNG is truncated or corrupt: export the card again from its tool."


class CardNoChunk(CardRejected):
    code = "card_no_chunk"
    fix = "This PNG carries no card: a card PNG has a tEXt chunk named 'chara' (V2) or 'ccv3' (V3)."


class CardInvalidBase64(CardRejected):
    code = "card_invalid_base64"
    fix = "The card chunk must hold the card's UTF-8 JSON in base64: export the card again from its tool."


class CardInvalidJson(CardRejected):
    code = "card_invalid_json"
    fix = "The card must be one JSON object (UTF-8) as the V1, V2 or V3 card specs write it."


class CardImageBomb(CardRejected):
    code = "card_image_bomb"
    fix = "The picture declares more pixels than CARD_MAX_PIXELS allows: send a smaller picture."


class CardZipBomb(CardRejected):
    code = "card_zip_bomb"
    fix = (
        "The CHARX would unpack beyond the limits (CARD_ZIP_MAX_MEMBERS, CARD_ZIP_MAX_UNCOMPRESSED_BYTES, "
        "CARD_ZIP_MAX_RATIO): leave large assets out of the archive."
    )


class CardPathTraversal(CardRejected):
    code = "card_path_traversal"
    fix = "Every name in a CHARX must be a relative path without '..', a drive or backslashes."


class CardInvalidZip(CardRejected):
    code = "card_invalid_zip"
    fix = "A CHARX is a zip with card.json at its root: export the card again from its tool."


class CardFieldsInvalid(CardRejected):
    """The card was read, but its fields do not fit a character (each bad field named by its card path)."""

    code = "card_fields_invalid"
    fix = "Correct the card fields named in the message (limits in docs/integrators/cards.md)."

    def __init__(self, fields: dict[str, list[str]]) -> None:
        summary = "; ".join(f"{name}: {' '.join(problems)}" for name, problems in fields.items())
        ValidationFailed.__init__(self, fields, message=f"The card's fields are invalid: {summary}")
        self.reason = self.message
