"""Who a request acts as, for every API surface: ``Authorization: Bearer <key>`` resolves to one app.

The DRF authentication and permission classes, and ``stream_caller`` for the streams (SSE, WebSocket). Reading
the credentials off the wire happens here; looking keys and stream tokens up stays with ``accounts``.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.auth import SESSION_KEY
from rest_framework.authentication import BaseAuthentication, SessionAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from apps.accounts import errors, selectors, services
from apps.core import log_context

if TYPE_CHECKING:  # for the annotations only: a surface reaches accounts through its selectors and services
    from apps.accounts.models import ApiKey, App

# The WWW-Authenticate challenge of every 401 on every surface.
BEARER_CHALLENGE = 'Bearer realm="dramatis"'


def api_key_from_authorization(header: str) -> "ApiKey | None":
    """The live key named by an ``Authorization`` header value, recording its use; None when it is empty.

    Shared by the DRF authentication and the plain Django views (the SSE stream). Raises ApiKeyInvalid for
    anything but ``Bearer <key>`` and the errors of ``selectors.api_key_authenticate``.
    """
    header = header.strip()
    if not header:
        return None
    scheme, _, raw_key = header.partition(" ")
    if scheme.lower() != "bearer" or not raw_key.strip():
        raise errors.ApiKeyInvalid("The Authorization header must be 'Bearer <key>'.")
    return api_key_use(raw_key)


def api_key_use(raw_key: str) -> "ApiKey":
    """The live key ``raw_key``, recording its use (for surfaces that take the key in another header, such as
    Foil's ``X-API-Key``). Raises the errors of ``selectors.api_key_authenticate``."""
    key = selectors.api_key_authenticate(raw_key=raw_key.strip())
    services.api_key_mark_used(api_key=key)
    return key


class ApiKeyAuthentication(BaseAuthentication):
    """Sets ``request.user`` to the key's App and ``request.auth`` to the ApiKey.

    A missing header authenticates nobody (the permission then answers 401); a present but bad key
    raises at once (403), so a typo never looks like a missing key.
    """

    def authenticate(self, request):
        key = api_key_from_authorization(get_authorization_header(request).decode("latin-1"))
        return None if key is None else (key.app, key)

    def authenticate_header(self, request) -> str:
        return BEARER_CHALLENGE


class XApiKeyAuthentication(BaseAuthentication):
    """The key in ``X-API-Key: <key>`` (Foil's and molroo's SDKs send it there): sets ``request.user`` to the
    key's App and ``request.auth`` to the ApiKey; no header authenticates nobody, a bad key raises at once."""

    def authenticate(self, request):
        raw = request.META.get("HTTP_X_API_KEY", "").strip()
        if not raw:
            return None
        key = api_key_use(raw)
        return key.app, key

    def authenticate_header(self, request) -> str:
        return 'ApiKey header="X-API-Key"'


class HasApp(BasePermission):
    """Allows requests that authenticated as an app.

    Refusing (rather than raising our own error) lets DRF raise its NotAuthenticated, which the browsable
    API's renderer expects when it probes permissions; each surface renders it as ``missing_api_key``.
    """

    message = "An API key is required."

    def has_permission(self, request, view) -> bool:
        # Every authentication class here yields an App, so "one of them succeeded" is "acting as an app".
        if request.successful_authenticator is None:
            return False
        log_context.bind(app_id=request.user.pk)  # the request's log lines name the app from here on
        return True


def staff_app(*, user) -> "App | None":
    """The app a user signed in to the admin acts as with their Django session, None when they act as none.

    A superuser acts as their own playground app (they see every app, so they get one of their own); a staff
    user bound to an app (``accounts.AppStaff``) acts as that app; any other user, unbound staff included,
    acts as none. The same rule as the admin's scoping, so the admin and the streams agree on who sees what.
    """
    if user is None or not user.is_authenticated or not user.is_active or not user.is_staff:
        return None
    if user.is_superuser:
        return services.playground_app_ensure(user=user)
    return selectors.app_staff_app(user=user)


class StaffPlaygroundAuthentication(SessionAuthentication):
    """For the browsable API: a user signed in to the admin acts as ``staff_app`` (a superuser as their own
    playground app, a staff user bound to an app as that app; nobody else).

    Only used when no bearer key is sent; CSRF is enforced as for any session-authenticated write.
    """

    def authenticate(self, request):
        result = super().authenticate(request)
        app = staff_app(user=result[0]) if result is not None else None
        return None if app is None else (app, None)


@dataclass(frozen=True)
class StreamCaller:
    """Who opened a stream: the app it acts as, and whose count of open streams it joins
    (``STREAM_MAX_CONNECTIONS_PER_KEY``): ``key:<id>`` for an API key, ``session:<id>`` for a browser's stream
    token (one end-user's tabs, not every browser of the app under one count), ``user:<id>`` for an admin user."""

    app: "App"
    owner: str


def stream_owner(request) -> str:
    """The stream count a DRF request's stream joins: its API key's, else the signed-in admin user's."""
    if request.auth is not None:
        return f"key:{request.auth.pk}"
    # DRF has put the app in request.user by now; the admin session still names the user who signed in.
    session = getattr(getattr(request, "_request", request), "session", None)
    user_id = session.get(SESSION_KEY) if session is not None else None
    return f"user:{user_id}" if user_id is not None else f"app:{request.user.pk}"


def stream_caller(
    *, authorization: str, token: str, user, session_id: str, kind: selectors.StreamKind, key_in_url: bool = False
) -> StreamCaller:
    """Who is opening a stream (the native SSE, the emotion WebSocket), in this order of precedence:

    - an API key in the ``Authorization`` header (servers and SDKs);
    - a stream token in ``?token=`` minted for this very stream (browsers; never an API key in a URL);
    - a signed-in admin user's Django session (looking at a stream from the admin), acting as ``staff_app``:
      a superuser as their own playground app, a staff user bound to an app as that app; unbound staff and
      other users are refused like a request with no credentials.

    ``key_in_url`` is for a surface whose published protocol puts the API key itself in ``?token=`` (molroo's
    WebSocket): there a token that is one of our keys is taken as the key, so those clients work unchanged.

    Raises ApiKeyMissing when none is present, and the errors of the first one that is.
    """
    key = api_key_from_authorization(authorization)
    if key is None and token and key_in_url and token.startswith(f"{selectors.KEY_SCHEME}_"):
        key = api_key_from_authorization(f"Bearer {token}")
    if key is not None:
        return StreamCaller(key.app, f"key:{key.pk}")
    if token:
        app = selectors.stream_token_app(token=token, session_id=session_id, kind=kind)
        return StreamCaller(app, f"session:{session_id}")
    app = staff_app(user=user)
    if app is not None:
        return StreamCaller(app, f"user:{user.pk}")
    raise errors.ApiKeyMissing(
        "An API key or a stream token is required.",
        fix=(
            "Send 'Authorization: Bearer <key>', or from a browser add ?token=<stream token> minted by your "
            "backend with POST /v1/sessions/{id}/stream-token."
        ),
    )
