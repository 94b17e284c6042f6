from apps.core.errors import Conflict, NotFound


class CharacterNotFound(NotFound):
    code = "character_not_found"
    fix = "Create the character with POST /v1/characters, or list yours with GET /v1/characters."


class CharacterSlugTaken(Conflict):
    code = "character_slug_taken"
    fix = "Another app owns this slug; choose a different slug."


class CharacterNotPublished(Conflict):
    code = "character_not_published"
    fix = "Publish a version of the character first."
