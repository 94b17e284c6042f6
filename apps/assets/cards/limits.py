"""The limits a card file is read within, passed in by the caller (the service reads them from the settings)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class CardLimits:
    max_bytes: int = 10 * 1024 * 1024  # the whole file (PNG, JSON or CHARX)
    max_chunk_bytes: int = 8 * 1024 * 1024  # the card's JSON wherever it sits (a PNG chunk, card.json, a JSON file)
    max_pixels: int = 4096 * 4096  # a PNG's declared width x height, read from its header before any decoding
    zip_max_members: int = 256
    zip_max_uncompressed_bytes: int = 64 * 1024 * 1024  # the members' declared sizes, added up
    zip_max_ratio: int = 100  # uncompressed / compressed, per member over ZIP_RATIO_FLOOR_BYTES


# Small members compress well for honest reasons (a short JSON of repeated keys); only big ones can be bombs.
ZIP_RATIO_FLOOR_BYTES = 1024 * 1024
