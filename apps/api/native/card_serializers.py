"""Request and response shapes of the Character Card routes of the native surface (import and export)."""

from rest_framework import serializers

from apps.api.native.serializers import CharacterOutput
from apps.assets.services.cards import EXPORT_FORMATS, EXPORT_SPECS
from apps.characters.types import SLUG_PATTERN


class CardImportQuery(serializers.Serializer):
    slug = serializers.RegexField(
        SLUG_PATTERN,
        max_length=128,
        required=False,
        help_text="The slug to import under (default: derived from the card's name, the first free one).",
    )
    replace = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Publish the card as the next version of the character at this slug (or at the slug the name "
        "gives) instead of refusing a slug in use (409 character_exists) or taking the next free one.",
    )


class CardImportUploadInput(serializers.Serializer):
    file = serializers.FileField(
        help_text="The card: a PNG with a 'chara' (V2) or 'ccv3' (V3) tEXt chunk, a JSON card (V1, V2 or V3), or "
        "a CHARX zip. Judged by its bytes, not its name or content type."
    )


class CardImportOutput(CharacterOutput):
    card_format = serializers.ChoiceField(choices=EXPORT_FORMATS, help_text="What the file was: png, json or charx.")
    card_spec = serializers.ChoiceField(
        choices=["chara_card_v1", "chara_card_v2", "chara_card_v3"], help_text="The card spec it followed."
    )
    identity_asset_id = serializers.CharField(
        allow_null=True, help_text="The card's picture as the character's identity asset (null: it had none)."
    )


class CardExportQuery(serializers.Serializer):
    format = serializers.ChoiceField(
        choices=EXPORT_FORMATS,
        required=False,
        default="png",
        help_text="png: the picture with 'chara' (V2) and 'ccv3' (V3) chunks; json: the card's JSON; charx: a zip "
        "of card.json and the picture.",
    )
    spec = serializers.ChoiceField(
        choices=list(EXPORT_SPECS),
        required=False,
        default="v3",
        help_text="The JSON card's spec (format=json only; a PNG carries both).",
    )
