"""``manage.py createapikey --app NAME``: print a new key for the app (created if it does not exist)."""

from django.core.management.base import BaseCommand

from apps.accounts import services
from apps.accounts.models import App


class Command(BaseCommand):
    help = "Create an API key for an app (creating the app if needed) and print it once."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--app", required=True, help="App name; created when no app has this name.")
        parser.add_argument("--name", default="cli", help="A label for the key.")

    def handle(self, *args, **options) -> None:
        app = App.objects.filter(name=options["app"]).order_by("created_at").first()
        if app is None:
            app = services.app_create(name=options["app"])
            self.stderr.write(f"Created app {app.name} ({app.id})")
        issued = services.api_key_create(app=app, name=options["name"])
        self.stdout.write(issued.raw_key)
