"""Admin of the delivery app, one topic module each."""

from apps.delivery.telegram import admin as telegram_admin  # noqa: F401  (registers its ModelAdmins)
from apps.delivery.webhooks import admin as webhooks_admin  # noqa: F401  (registers its ModelAdmins)
