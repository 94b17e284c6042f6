"""Character Card import and export: a card is a character, its own lorebook and its picture at once, which is
why it lives here, above both ``characters`` and the visual assets.

An import reads and checks everything that costs CPU before a transaction opens (the file's structure and
limits, the card's fields against the content rules, the picture's decoding), then writes in one transaction:
the character and its version, its own lorebook, and the picture as the identity asset. Any refusal leaves no
row and no file behind (the picture's files are deleted again if the transaction does not commit).
"""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.text import slugify
from PIL import Image

from apps.assets import cards, images
from apps.assets import selectors as asset_selectors
from apps.assets.backends import builtin
from apps.assets.errors import CardFieldsInvalid, CardTooLarge, CardUnsupported
from apps.assets.models import VisualAsset
from apps.assets.services.visual_assets import visual_asset_promote, visual_asset_upload
from apps.assets.types import ImageRequest
from apps.characters import selectors as character_selectors
from apps.characters import services as character_services
from apps.characters.types import SLUG_PATTERN
from apps.core.errors import ValidationFailed
from apps.llm.types import ImageModelSpec

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from apps.accounts.models import App
    from apps.characters.models import Character, CharacterVersion

EXPORT_FORMATS = tuple(cards.FORMATS)
EXPORT_SPECS = {"v2": cards.SPEC_V2, "v3": cards.SPEC_V3}
_SLUG_MAX_LENGTH = 100  # room for a "-N" suffix under the 128 the slug may have
_PLACEHOLDER_SIZE = (400, 600)  # a card picture's usual portrait shape


@dataclass(frozen=True)
class CardImported:
    character: Character
    version: CharacterVersion
    identity: VisualAsset | None  # the card's picture as the identity asset (None: the card had no picture)
    file_format: str  # png | json | charx
    spec: str  # chara_card_v1 | chara_card_v2 | chara_card_v3
    created: bool  # a new character (False: a new version of an existing one, with replace)


@dataclass(frozen=True)
class CardExported:
    data: bytes
    content_type: str
    filename: str


def card_limits() -> cards.CardLimits:
    return cards.CardLimits(
        max_bytes=settings.CARD_MAX_BYTES,
        max_chunk_bytes=settings.CARD_MAX_CHUNK_BYTES,
        max_pixels=settings.CARD_MAX_PIXELS,
        zip_max_members=settings.CARD_ZIP_MAX_MEMBERS,
        zip_max_uncompressed_bytes=settings.CARD_ZIP_MAX_UNCOMPRESSED_BYTES,
        zip_max_ratio=settings.CARD_ZIP_MAX_RATIO,
    )


def _bytes_read(source: IO[bytes] | bytes, limit: int) -> bytes:
    data = bytes(source[: limit + 1]) if isinstance(source, bytes | bytearray) else source.read(limit + 1)
    if len(data) > limit:
        raise CardTooLarge(f"the file is larger than the {limit} bytes allowed (CARD_MAX_BYTES).")
    if not data:
        raise CardUnsupported("the file is empty.")
    return data


def _content_checked(content: dict[str, Any]) -> None:
    """The content rules, before any write; problems are named by where they sit in the card."""
    try:
        character_services.character_validate(data={**content, "slug": "card"})
    except ValidationFailed as error:
        fields = {cards.content_path_to_card(path): problems for path, problems in error.fields.items()}
        raise CardFieldsInvalid(fields) from None


def _slug_derived(app: App, display_name: str, *, first_free: bool) -> str:
    """The slug a card's name gives (``first_free``: the first of ``name``, ``name-2``... the app does not use)."""
    slug = slugify(display_name)[:_SLUG_MAX_LENGTH].strip("-") or "character"
    if first_free:
        taken = character_selectors.character_slugs_taken(app=app, base=slug)
        base, number = slug, 2
        while slug in taken:
            slug, number = f"{base}-{number}", number + 1
    return slug


def _identity_stored(
    app: App, character: Character, checked: images.CheckedImage, file_format: str, *, new: bool
) -> tuple[VisualAsset, bool]:
    """The picture as the active identity, and whether its files are new: the same picture imported again is
    the same asset (promoted back if it was retired), a new one retires the current identity. A ``new``
    character has no assets to look through."""
    asset_key = f"card-{checked.sha256[:16]}"
    known = None if new else asset_selectors.visual_asset_keyed(character=character, asset_key=asset_key)
    if known is not None:
        return visual_asset_promote(app=app, character=character, asset_id=known.id).asset, False
    written = visual_asset_upload(
        app=app,
        character=character,
        file=checked.data,
        checked=checked,
        asset_key=asset_key,
        category=VisualAsset.Category.IDENTITY,
        label="Card picture",
        provenance=f"Character Card import ({file_format})",
    )
    return written.asset, True


def _slug_valid(slug: Any) -> bool:
    return isinstance(slug, str) and len(slug) <= 128 and re.match(SLUG_PATTERN, slug) is not None


def character_card_import(
    *,
    app: App,
    data: IO[bytes] | bytes,
    slug: str | None = None,
    replace: bool = False,
    published_by: AbstractBaseUser | None = None,
    published_via: str = "",
) -> CardImported:
    """Create a character (or, with ``replace``, the next version of the one at its slug) from a card file: a
    PNG with a ``chara``/``ccv3`` chunk, a JSON card (V1, V2 or V3) or a CHARX. See ``cards.mapping`` for where
    each field goes; the card's ``character_book`` becomes the character's own lorebook, its picture the identity
    asset.

    Raises a ``CardRejected`` (422, a code per reason: see ``apps.assets.errors``), ImageRejected (the picture),
    CharacterExists (409: ``slug`` in use and no ``replace``), ValidationFailed (a bad ``slug``) and the
    quota errors of a new character. Nothing is written when it raises.
    """
    limits = card_limits()
    read = cards.card_read(_bytes_read(data, limits.max_bytes), limits)
    content, book, problems = cards.card_to_content(read.card.data)
    if problems:
        raise CardFieldsInvalid(problems)
    _content_checked(content)
    if slug is not None and not _slug_valid(slug):
        raise ValidationFailed({"slug": ["Use letters, digits, '_', '.' and '-' only (no spaces), 1-128 long."]})
    checked = images.image_check(read.picture) if read.picture is not None else None
    publish = {"published_by": published_by, "published_via": published_via}
    identity, new_files = None, False
    try:
        with transaction.atomic():
            content["slug"] = slug or _slug_derived(app, content["display_name"], first_free=not replace)
            try:
                result = character_services.character_publish_with_own_book(
                    app=app, data=content, book=book, must_create=not replace, **publish
                )
            except ValidationFailed as error:  # the content passed above: the lorebook rules refused the book
                raise CardFieldsInvalid(error.fields) from None
            character = result.character
            if checked is not None:
                new = result.created_character
                identity, new_files = _identity_stored(app, character, checked, read.format, new=new)
    except BaseException:
        if identity is not None and new_files:  # the transaction did not commit: the picture's files go too
            for name in (identity.file.name, identity.thumbnail.name):
                with contextlib.suppress(OSError):
                    default_storage.delete(name)
        raise
    return CardImported(character, result.version, identity, read.format, read.card.spec, result.created_character)


def _book_has_content(book: dict[str, Any]) -> bool:
    """A book worth a character_book: an emptied one (what replacing with a card without a book leaves) is not."""
    return bool(book["entries"] or book["name"] or book["description"] or book["extensions"])


def _placeholder_png(character: Character) -> bytes:
    """The built-in renderer's stand-in picture, for a character without an identity asset."""
    request = ImageRequest(
        prompt=f"{character.display_name}, character card",
        width=_PLACEHOLDER_SIZE[0],
        height=_PLACEHOLDER_SIZE[1],
        label=character.display_name,
    )
    return builtin.render(ImageModelSpec(name="builtin", provider="builtin"), request).data


def _as_png(data: bytes, content_type: str) -> bytes:
    if content_type == "image/png":
        return data
    out = io.BytesIO()
    with Image.open(io.BytesIO(data)) as picture:
        picture.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def character_card_export(*, app: App, slug: str, file_format: str = "png", spec: str = "v3") -> CardExported:
    """The character's current content as a card file (``png``, ``json`` or ``charx``; a JSON card is V3, or V2
    with ``spec="v2"``), with its own lorebook as the character_book and its identity asset as the picture (a PNG
    of a character without one gets the built-in renderer's stand-in). Importing the file gives the same card
    back, field for field. Raises CharacterNotFound (also for another app's slug) and ValidationFailed (an
    unknown format or spec)."""
    problems = {}
    if file_format not in EXPORT_FORMATS:
        problems["format"] = [f"One of: {', '.join(EXPORT_FORMATS)}."]
    if spec not in EXPORT_SPECS:
        problems["spec"] = ["One of: v2, v3."]
    if problems:
        raise ValidationFailed(problems)
    character = character_selectors.character_get(app=app, slug=slug)
    content = character_selectors.character_content_current(character=character)
    own = character_selectors.lorebook_own_get(character=character)
    book = character_selectors.lorebook_card(lorebook=own) if own is not None else None
    data = cards.content_to_card(content, book=book if book is not None and _book_has_content(book) else None)
    picture, extension = None, "png"
    if file_format != "json":
        identity = asset_selectors.identity_asset(character=character)
        if identity is not None:
            with default_storage.open(identity.file.name, "rb") as stored:
                picture = stored.read()
            extension = images.FORMATS_BY_CONTENT_TYPE.get(identity.content_type, "png")
            if file_format == "png":
                picture, extension = _as_png(picture, identity.content_type), "png"
        elif file_format == "png":
            picture = _placeholder_png(character)
    body = cards.card_write(
        data, file_format=file_format, picture=picture, picture_extension=extension, spec=EXPORT_SPECS[spec]
    )
    suffix = "json" if file_format == "json" else file_format
    return CardExported(body, cards.FORMATS[file_format], f"{character.slug}.{suffix}")
