from apps.core.errors import Conflict, NotFound


class CharacterNotFound(NotFound):
    code = "character_not_found"
    fix = "Create the character with POST /v1/characters, or list yours with GET /v1/characters."


class CharacterExists(Conflict):
    """A create-only publish (a Character Card import without ``replace``) met a slug the app already uses."""

    code = "character_exists"
    fix = "Pass replace=true to publish the card as the character's next version, or choose another slug."


class CharacterNotPublished(Conflict):
    code = "character_not_published"
    fix = "Publish a version of the character first."


class CharacterVersionNotFound(NotFound):
    code = "character_version_not_found"
    fix = "List the character's versions and pick one of them."


class LorebookNotFound(NotFound):
    code = "lorebook_not_found"
    fix = "List your shared lorebooks with GET /v1/lorebooks."


class LorebookNameTaken(Conflict):
    code = "lorebook_name_taken"
    fix = "Choose another name, or change the existing book with PUT /v1/lorebooks/{id}."
