"""``manage.py balance APP_ID [--top-up N | --set N | --clear]``: show or change an app's credit balance."""

from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from apps.accounts import selectors, services
from apps.accounts.models import App
from apps.core.errors import ValidationFailed


def _credits(value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise CommandError(f"Not a number of credits: {value!r}") from None


class Command(BaseCommand):
    help = "Show an app's credit balance, top it up, set what is left, or remove it (unlimited)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("app_id")
        change = parser.add_mutually_exclusive_group()
        change.add_argument("--top-up", type=_credits, help="Add this many credits (opens a balance if none).")
        change.add_argument("--set", type=_credits, help="Make exactly this many credits left.")
        change.add_argument("--clear", action="store_true", help="Remove the balance: spending is unlimited.")

    def handle(self, *args, **options) -> None:
        app = App.objects.filter(pk=options["app_id"]).first()
        if app is None:
            raise CommandError(f"No app with id {options['app_id']!r}.")
        try:
            if options["top_up"] is not None:
                services.app_balance_top_up(app=app, credits=options["top_up"])
            elif options["set"] is not None:
                services.app_balance_set(app=app, remaining_credits=options["set"])
            elif options["clear"]:
                services.app_balance_clear(app=app)
        except ValidationFailed as error:
            raise CommandError(error.message) from None
        status = selectors.app_balance(app=app)
        if status is None:
            self.stdout.write(f"{app.id}: no balance (spending is not limited by one)")
            return
        left, credited = status.remaining_credits.normalize(), status.credited_credits.normalize()
        self.stdout.write(
            f"{app.id}: {left:f} credits left of {credited:f}"
            f" ({status.spent_credits.normalize():f} spent, {status.reserved_credits.normalize():f} reserved)"
        )
