"""Shapes of the lorebook endpoints (for the OpenAPI schema): the Card V2 ``character_book`` body comes from the
characters app's declared shape, so the documented body is the validated one."""

from rest_framework import serializers

from apps.api.native.shape_serializers import shape_serializer
from apps.characters import types as character_types

CharacterBookSerializer = shape_serializer(character_types.CHARACTER_BOOK)
SharedBookSerializer = shape_serializer(character_types.SHARED_BOOK)


class CharacterBookInput(CharacterBookSerializer):
    """A Character Card V2 ``character_book`` object; it replaces the book whole. Entries keep the ``id`` you
    send back; entries without one get the next free id. ``extensions`` (of the book and of each entry) are kept
    exactly as sent. Unknown fields are refused (put your own data in ``extensions``)."""


class SharedBookInput(SharedBookSerializer):
    """A Character Card V2 ``character_book`` object whose ``name`` is unique among your app's shared books."""


class AttachedBookOutput(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    entries = serializers.IntegerField(help_text="How many entries the book has.")


class CharacterLorebookOutput(serializers.Serializer):
    character = serializers.CharField(help_text="The character's slug.")
    version_number = serializers.IntegerField(
        allow_null=True, help_text="The character's current version (null while it was never published)."
    )
    created_version = serializers.BooleanField(
        required=False, help_text="Whether this write published a new version (writes only)."
    )
    character_book = CharacterBookSerializer(help_text="The character's own book (empty entries when it has none).")
    attached = AttachedBookOutput(
        many=True, help_text="Shared books attached to the character, read-only here (edit them at /v1/lorebooks)."
    )


class LorebookAttachInput(serializers.Serializer):
    lorebook_ids = serializers.ListField(
        child=serializers.CharField(), help_text="Exactly the shared books to attach; the others are detached."
    )


class PublishedCharacterOutput(serializers.Serializer):
    character = serializers.CharField()
    version_number = serializers.IntegerField()
    created_version = serializers.BooleanField()


class SharedLorebookOutput(serializers.Serializer):
    id = serializers.CharField()
    characters = serializers.ListField(child=serializers.CharField(), help_text="Slugs of the attached characters.")
    character_book = CharacterBookSerializer()
    published = PublishedCharacterOutput(
        many=True, required=False, help_text="Writes only: the version each attached character is now on."
    )


class SharedLorebookSummaryOutput(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    entries = serializers.IntegerField()
    characters = serializers.ListField(child=serializers.CharField())


class SharedLorebookListOutput(serializers.Serializer):
    lorebooks = SharedLorebookSummaryOutput(many=True)


class SharedLorebookDeletedOutput(serializers.Serializer):
    id = serializers.CharField()
    deleted = serializers.BooleanField()
    published = PublishedCharacterOutput(many=True)
