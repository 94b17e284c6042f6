"""Writes of the assets app, one topic per module: visual assets (upload, register from a URL, promote,
retire), generated images (create, draw, settle) and Character Cards (import, export). Every function takes the
asking app (or an id its caller
scoped to it) and refuses another app's rows as absent."""

from apps.assets.services.cards import CardExported, CardImported, character_card_export, character_card_import
from apps.assets.services.direct_images import DirectImage, direct_images_purge, images_generate
from apps.assets.services.generated_images import (
    ImageDrawn,
    ImageJob,
    generated_images_erase,
    image_create,
    image_draw,
    image_finish,
    image_job_start,
    image_prompt,
)
from apps.assets.services.visual_assets import (
    ASSET_KEY_PATTERN,
    visual_asset_promote,
    visual_asset_register_url,
    visual_asset_retire,
    visual_asset_upload,
)

__all__ = [
    "ASSET_KEY_PATTERN",
    "CardExported",
    "CardImported",
    "character_card_export",
    "character_card_import",
    "DirectImage",
    "ImageDrawn",
    "ImageJob",
    "generated_images_erase",
    "image_create",
    "image_draw",
    "image_finish",
    "image_job_start",
    "image_prompt",
    "images_generate",
    "direct_images_purge",
    "visual_asset_promote",
    "visual_asset_register_url",
    "visual_asset_retire",
    "visual_asset_upload",
]
