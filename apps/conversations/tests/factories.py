from apps.characters.tests.factories import character_publish
from apps.conversations import services


def session_start(app, *, slug: str = "luna", external_user_ref: str = "user_1", **character_fields):
    """A published character and a session on it."""
    character_publish(app, slug=slug, **character_fields)
    return services.session_create(app=app, character_slug=slug, external_user_ref=external_user_ref)
