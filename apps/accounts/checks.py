"""System checks of accounts: settings an operator may still set that no longer do anything."""

import os

from django.core.checks import Warning, register

# The surfaces' own request limits before plans (docs/integrators/plans-and-limits.md, "Retired settings").
RETIRED_RATE_SETTINGS = ("EMOTION_RATE_LIMIT_PER_MINUTE", "NPC_REQUESTS_PER_MINUTE")


@register()
def retired_rate_settings_check(app_configs, **kwargs) -> list[Warning]:
    """Warn at start-up when a retired rate setting is in the environment: it is ignored, and an operator who
    relied on it would otherwise lose the limit without a word."""
    return [
        Warning(
            f"{name} is set but no longer read: request limits are plans now.",
            hint="Create a plan with that many requests per minute (admin: Accounts -> Plans), put the apps on "
            "it, and unset the variable. See docs/integrators/plans-and-limits.md.",
            id="accounts.W001",
        )
        for name in RETIRED_RATE_SETTINGS
        if os.environ.get(name, "").strip() not in ("", "0")
    ]
