"""Reading and writing CHARX files: a zip with the V3 card as ``card.json`` at its root and its assets under
``assets/`` (referenced from the card as ``embeded://<path>``, the spec's spelling).

Nothing is unpacked to disk and nothing is read before the whole directory passed the checks: at most
``zip_max_members`` names, none absolute, with a drive, a backslash or a ``..`` part (the whole archive is
refused, not just the bad member: a tool that writes such names is not to be trusted), declared sizes adding up
to at most ``zip_max_uncompressed_bytes``, and no big member that expands more than ``zip_max_ratio`` times.
Python's zip reader stops at a member's declared size and checks its CRC, so a member cannot lie its way past
these checks.
"""

import io
import zipfile
import zlib

from apps.assets.cards.limits import ZIP_RATIO_FLOOR_BYTES, CardLimits
from apps.assets.errors import CardInvalidZip, CardPathTraversal, CardTooLarge, CardZipBomb

CARD_MEMBER = "card.json"
EMBEDDED_PREFIXES = ("embeded://", "embedded://")  # the spec's spelling, and the one people type
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # exports do not depend on the clock: the same card gives the same bytes
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError, zlib.error)


def member_name_check(name: str) -> None:
    """Raise CardPathTraversal for a name that could point outside the archive's folder."""
    parts = name.split("/")
    if not name or name.startswith("/") or "\\" in name or ":" in parts[0] or ".." in parts or "\x00" in name:
        raise CardPathTraversal(f"the archive holds the name {name!r}, which points outside it.")


class CharxArchive:
    """An archive whose directory passed the checks; ``read`` gives one member's bytes."""

    def __init__(self, data: bytes, limits: CardLimits) -> None:
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self._zip.infolist()
        except (*_READ_ERRORS, ValueError) as error:
            raise CardInvalidZip(f"the file is not a readable zip ({error}).") from error
        if len(infos) > limits.zip_max_members:
            raise CardZipBomb(
                f"the archive has {len(infos)} members, more than the {limits.zip_max_members} allowed "
                "(CARD_ZIP_MAX_MEMBERS)."
            )
        total = 0
        for info in infos:
            member_name_check(info.filename)
            total += info.file_size
            big = info.file_size > ZIP_RATIO_FLOOR_BYTES
            if big and info.file_size > limits.zip_max_ratio * max(info.compress_size, 1):
                raise CardZipBomb(
                    f"{info.filename!r} expands {info.file_size} bytes from {info.compress_size}, more than "
                    f"{limits.zip_max_ratio} times (CARD_ZIP_MAX_RATIO)."
                )
        if total > limits.zip_max_uncompressed_bytes:
            raise CardZipBomb(
                f"the archive unpacks to {total} bytes, more than the {limits.zip_max_uncompressed_bytes} allowed "
                "(CARD_ZIP_MAX_UNCOMPRESSED_BYTES)."
            )
        self._infos = {info.filename: info for info in infos if not info.is_dir()}
        self._limits = limits

    def card_json(self) -> bytes:
        info = self._infos.get(CARD_MEMBER)
        if info is None:
            raise CardInvalidZip("the archive has no card.json at its root, so it is not a CHARX.")
        if info.file_size > self._limits.max_chunk_bytes:
            raise CardTooLarge(
                f"card.json is {info.file_size} bytes, more than the {self._limits.max_chunk_bytes} allowed "
                "(CARD_MAX_CHUNK_BYTES)."
            )
        return self.read(CARD_MEMBER)

    def embedded(self, uri: str) -> bytes | None:
        """The member an ``embeded://`` URI names, or None for another kind of URI or a name not in the archive."""
        prefix = next((prefix for prefix in EMBEDDED_PREFIXES if uri.startswith(prefix)), None)
        if prefix is None:
            return None
        name = uri[len(prefix) :]
        member_name_check(name)
        return self.read(name) if name in self._infos else None

    def read(self, name: str) -> bytes:
        try:
            return self._zip.read(self._infos[name])
        except _READ_ERRORS as error:
            raise CardInvalidZip(f"{name!r} could not be read from the archive ({error}).") from error


def charx_write(card_json: bytes, files: dict[str, bytes]) -> bytes:
    """A CHARX of ``card_json`` and ``files`` (path in the archive: bytes). The JSON is deflated; pictures are
    stored as they are (they are compressed already)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo(CARD_MEMBER, _FIXED_TIME), card_json, compress_type=zipfile.ZIP_DEFLATED)
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, _FIXED_TIME), data, compress_type=zipfile.ZIP_STORED)
    return out.getvalue()
