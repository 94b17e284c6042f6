"""Who may use the playground, and for which apps: the admin's rule (``apps.core.admin_scoping``).

A superuser may use it for any app; a staff user bound to an app (``accounts.AppStaff``) for that app only;
anyone else (unbound staff, other users) not at all. Another app's id looks absent (AppNotFound, 404), and so
does everything under it, since every later read is scoped to the app resolved here.
"""

from typing import TYPE_CHECKING

from apps.accounts import selectors as accounts_selectors
from apps.accounts.errors import AppNotFound
from apps.api.playground.errors import PlaygroundNotAllowed, SignInRequired
from apps.core.admin_scoping import admin_scope

if TYPE_CHECKING:
    from apps.accounts.models import App


def _user_check(request) -> None:
    """Raises SignInRequired (anonymous) or PlaygroundNotAllowed (not staff, or staff bound to no app)."""
    user = request.user
    if not user.is_authenticated:
        raise SignInRequired("Sign in with a staff account to use the playground.")
    scope = admin_scope(request)
    if not (user.is_active and user.is_staff and (scope.everything or scope.is_bound)):
        raise PlaygroundNotAllowed("The playground is for superusers and for staff bound to an app.")


def playground_apps(request) -> list["App"]:
    """The apps the signed-in user may pick (every app for a superuser, their own for bound staff)."""
    _user_check(request)
    if admin_scope(request).everything:
        return accounts_selectors.app_list_all()
    return [accounts_selectors.app_by_id_get(app_id=admin_scope(request).app_id)]


def playground_app(request, app_id: str) -> "App":
    """The app ``app_id`` if the signed-in user may use it; AppNotFound for any other id."""
    _user_check(request)
    scope = admin_scope(request)
    if not scope.everything and app_id != scope.app_id:
        raise AppNotFound(f"No app with id '{app_id}'.")
    return accounts_selectors.app_by_id_get(app_id=app_id)
