"""Binding staff users to one app: what the admin scopes them to, and which app their Django session streams as."""

from django.db import transaction

from apps.accounts.models import App, AppStaff


@transaction.atomic
def app_staff_bind(*, user, app: App) -> AppStaff:
    """Bind ``user`` to ``app`` (moving an existing binding: a user belongs to one app at most).

    Binding does not make the user staff or give them model permissions: Django's ``is_staff`` and permissions
    still decide what they may do; the binding only decides whose rows they do it to. A superuser may be
    bound (their streams then open as that app) but still sees every app in the admin.
    """
    binding, _ = AppStaff.objects.select_for_update().update_or_create(user=user, defaults={"app": app})
    return binding


@transaction.atomic
def app_staff_unbind(*, user) -> bool:
    """Remove ``user``'s binding; True when there was one. An unbound non-superuser staff user sees no tenant
    rows in the admin and opens no streams with their session."""
    deleted, _ = AppStaff.objects.filter(user=user).delete()
    return bool(deleted)
