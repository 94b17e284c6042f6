"""Writes for accounts: apps, their plans and keys, the demo sandbox and quota counters."""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from apps.accounts import errors, selectors
from apps.accounts.models import ApiKey, App, Plan
from apps.accounts.selectors import KEY_SCHEME, secret_digest
from apps.core.errors import ValidationFailed

SANDBOX_PLAN = "sandbox"  # the plan row sandbox apps are put on (120 requests a minute per key by default)
SANDBOX_CAPS = {"max_characters": 3, "max_sessions": 5, "max_user_messages": 60, "max_message_chars": 1200}

QuotaResource = Literal["characters", "sessions", "user_messages"]


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    raw_key: str


def app_create(*, name: str, is_sandbox: bool = False, plan: Plan | None = None, **caps: int | None) -> App:
    """Create a tenant, optionally on a plan and with caps (``max_characters`` and friends)."""
    return App.objects.create(name=name, is_sandbox=is_sandbox, plan=plan, **caps)


def app_plan_set(*, app: App, plan: Plan | None) -> App:
    """Put ``app`` on ``plan`` (None: no request limit). Its keys follow at once in this process, and in
    the others within ``API_KEY_CACHE_SECONDS`` (they cache verified keys with their app and plan)."""
    App.objects.filter(pk=app.pk).update(plan=plan)
    app.plan = plan
    selectors.api_key_cache_forget_app(app_id=app.pk)
    return app


def plan_changed(*, plan: Plan) -> None:
    """Call after editing a plan's limits (the admin does): keys verified in this process pick it up at once,
    the other processes' within ``API_KEY_CACHE_SECONDS``."""
    selectors.api_key_cache_forget_plan(plan_id=plan.pk)


def playground_app_ensure(*, user) -> App:
    """The app a staff user acts as when signed in to the admin (the browsable API, the streams)."""
    app, _ = App.objects.get_or_create(name=f"playground:{user.get_username()}")
    return app


def api_key_create(*, app: App, name: str = "", expires_at: datetime | None = None) -> IssuedKey:
    """Create a key for ``app``. The raw key is in the result and nowhere else: store it now."""
    prefix = f"{KEY_SCHEME}_{secrets.token_hex(6)}"
    secret = secrets.token_urlsafe(32).replace("_", "x").replace("-", "y")
    key = ApiKey.objects.create(
        app=app, name=name, prefix=prefix, secret_hash=secret_digest(secret), expires_at=expires_at
    )
    return IssuedKey(api_key=key, raw_key=f"{prefix}_{secret}")


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke a key at once; later requests with it get 403 api_key_revoked."""
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    selectors.api_key_cache_forget(api_key_id=api_key.pk)
    api_key.refresh_from_db()
    return api_key


# When this process last recorded a use of each key; uses in between are not written.
_LAST_USE_EVERY = timedelta(minutes=1)
_last_use_written: dict[str, datetime] = {}


def api_key_mark_used(*, api_key: ApiKey) -> None:
    """Record that ``api_key`` was just used, at most once a minute per key and process.

    Keeps ``last_used_at`` useful to operators (which keys are live) without a write on every request.
    """
    now = timezone.now()
    written = _last_use_written.get(api_key.pk)
    if written is not None and now - written < _LAST_USE_EVERY:
        return
    if len(_last_use_written) >= 10_000:  # keep memory bounded: forget keys not written for a while
        for stale in [pk for pk, at in _last_use_written.items() if now - at >= _LAST_USE_EVERY]:
            del _last_use_written[stale]
    _last_use_written[api_key.pk] = now
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)


def _sandbox_rate_check(client_address: str) -> None:
    bucket = f"sandbox-issue:{client_address}:{int(timezone.now().timestamp() // 3600)}"
    cache.add(bucket, 0, timeout=3700)
    if cache.incr(bucket) > settings.DEMO_SANDBOX_ISSUE_PER_HOUR:
        raise errors.DemoSandboxRateLimited("Too many sandbox keys were requested from this address in the last hour.")


@transaction.atomic
def sandbox_issue(*, client_address: str) -> IssuedKey:
    """Create an isolated sandbox app with the demo caps and a key that expires after the sandbox TTL."""
    if not settings.DEMO_SANDBOX_ENABLED:
        raise errors.DemoSandboxDisabled("Sandbox keys are not offered by this server.")
    _sandbox_rate_check(client_address)
    app = app_create(
        name=f"sandbox {timezone.now():%Y-%m-%d %H:%M}",
        is_sandbox=True,
        plan=selectors.plan_get(slug=SANDBOX_PLAN),
        **SANDBOX_CAPS,
    )
    expires_at = timezone.now() + timedelta(hours=settings.DEMO_SANDBOX_TTL_HOURS)
    return api_key_create(app=app, name="sandbox", expires_at=expires_at)


def app_quota_consume(*, app: App, resource: QuotaResource) -> None:
    """Count one use of ``resource`` against the app's cap, atomically; call inside the writing transaction.

    A single conditional UPDATE both checks and increments, so concurrent requests cannot overshoot the
    cap; when the surrounding transaction rolls back, the use is given back. Apps without a cap for
    ``resource`` are not counted: the UPDATE would row-lock the app on every write for nothing (a cap
    set later counts from then on).
    """
    used, cap = f"{resource}_used", f"max_{resource}"
    if getattr(app, cap) is None:
        return
    table = App._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {used} = {used} + 1 WHERE id = %s AND ({cap} IS NULL OR {used} < {cap})",  # noqa: S608
            [app.pk],
        )
        if cursor.rowcount == 1:
            return
    label = resource.replace("_", " ")
    cap_value = getattr(app, cap)
    if app.is_sandbox:
        raise errors.DemoQuotaExceeded(f"This sandbox app has used all {cap_value} of its {label}.")
    raise errors.QuotaExhausted(f"This app has used all {cap_value} of its {label}.")


def app_message_length_check(*, app: App, text: str) -> None:
    """Refuse a message over the app's per-message cap (sandbox apps: 1,200 characters)."""
    if app.max_message_chars is None or len(text) <= app.max_message_chars:
        return
    problem = f"The message has {len(text)} characters; this app allows {app.max_message_chars}."
    if app.is_sandbox:
        raise errors.DemoInputTooLarge(problem)
    raise ValidationFailed({"text": [problem]})


from apps.accounts.services.app_staff import app_staff_bind, app_staff_unbind  # noqa: E402
from apps.accounts.services.balance import app_balance_clear, app_balance_set, app_balance_top_up  # noqa: E402
from apps.accounts.services.budgets import (  # noqa: E402 - the package's topic modules, re-exported
    BudgetWarning,
    Settlement,
    UsageCall,
    UsageSubject,
    budget_policy_clear,
    budget_policy_set,
    budget_preflight,
    usage_reserve,
    usage_settle,
    usage_settle_calls,
)
from apps.accounts.services.end_users import external_user_usage_anonymise  # noqa: E402
from apps.accounts.services.stream_tokens import (  # noqa: E402
    IssuedStreamToken,
    stream_token_issue,
)

__all__ = [
    "BudgetWarning",
    "IssuedKey",
    "IssuedStreamToken",
    "Settlement",
    "UsageCall",
    "UsageSubject",
    "api_key_create",
    "api_key_mark_used",
    "api_key_revoke",
    "app_balance_clear",
    "app_balance_set",
    "app_balance_top_up",
    "app_create",
    "app_message_length_check",
    "app_plan_set",
    "app_quota_consume",
    "app_staff_bind",
    "app_staff_unbind",
    "budget_policy_clear",
    "external_user_usage_anonymise",
    "budget_policy_set",
    "budget_preflight",
    "plan_changed",
    "playground_app_ensure",
    "sandbox_issue",
    "stream_token_issue",
    "usage_reserve",
    "usage_settle",
    "usage_settle_calls",
]
