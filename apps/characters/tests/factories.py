import factory

from apps.characters import services


def character_publish(app, **fields):
    """Publish a character through the real service (the only way versions are made)."""
    data = {
        "slug": fields.pop("slug", None) or factory.Faker("slug").evaluate(None, None, {"locale": None}),
        "display_name": fields.pop("display_name", "Luna"),
        **fields,
    }
    return services.character_publish(app=app, data=data)
