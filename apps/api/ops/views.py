import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from apps.api.ops.collectors import ScrapeTimeCollector
from apps.core import metrics, readiness


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches nothing (no database, no Redis), so it never fails for them."""
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when every check passes, 503 naming each check's result otherwise."""
    checks = readiness.readiness()
    ready = all(check.ok for check in checks.values())
    body = {"status": "ok" if ready else "fail", "checks": {name: check.as_dict() for name, check in checks.items()}}
    return JsonResponse(body, status=200 if ready else 503, headers={"Cache-Control": "no-store"})


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition of this machine's processes. Without ``METRICS_TOKEN`` the route does not exist
    (404); with it, a request without that bearer token is a 401."""
    token = settings.METRICS_TOKEN
    if not token:
        return HttpResponse("Not found.\n", status=404, content_type="text/plain")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        return HttpResponse(
            "A valid metrics token is required.\n",
            status=401,
            content_type="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return HttpResponse(metrics.exposition([ScrapeTimeCollector()]), content_type=metrics.CONTENT_TYPE)
