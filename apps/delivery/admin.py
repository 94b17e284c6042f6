"""Admin of the delivery app, one topic module each."""

from apps.delivery.telegram import admin as telegram_admin  # noqa: F401  (registers its ModelAdmins)
