"""Settings for every way Dramatis runs (``config.settings``); the test suite adds a few in ``test.py``.

With no environment variables set this is the *embedded default*: SQLite under ``var/``, the
in-memory channel layer, an in-process run executor and scheduler, and the offline ``scripted`` LLM
provider. Production differs only by environment variables (see ``.env.example``); there is no
separate production settings module, and ``test.py`` changes only what lets test runs sit side by side,
so what the tests exercise is what production runs.
"""

import contextlib
import os
import tomllib
from importlib import metadata
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("DRAMATIS_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()


def _dramatis_version() -> str:
    """This checkout's version from pyproject.toml; an installed wheel (no pyproject beside it) from its metadata."""
    pyproject = BASE_DIR / "pyproject.toml"
    if pyproject.exists():
        return tomllib.loads(pyproject.read_text())["project"]["version"]
    try:
        return metadata.version("dramatis")
    except metadata.PackageNotFoundError:
        return "unknown"


DRAMATIS_VERSION = _dramatis_version()
environ.Env.read_env(BASE_DIR / ".env") if (BASE_DIR / ".env").exists() else None

DATABASE_URL = env.str("DATABASE_URL", default="")
REDIS_URL = env.str("REDIS_URL", default="")
EMBEDDED = not DATABASE_URL and not REDIS_URL

DEBUG = env.bool("DJANGO_DEBUG", default=EMBEDDED)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "dramatis-embedded-development-key-not-for-production"
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["*"] if DEBUG else ["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "apps.core.admin_site.DramatisAdminConfig",  # django.contrib.admin under our name
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "apps.core",
    "apps.accounts",
    "apps.llm",
    "apps.characters",
    "apps.personas",
    "apps.assets",
    "apps.npcs",
    "apps.conversations",
    "apps.delivery",
    "apps.api.native",
    "apps.api.emotion",
    "apps.api.npc",
    "apps.api.studio",
    "apps.api.openai",
    "apps.api",  # manage.py serve: the whole site in one process
]

MIDDLEWARE = [
    # Outermost: times every request (by URL route) and opens its log scope (request_id).
    "apps.core.middleware.RequestObservationMiddleware",
    # So that a CORS preflight is answered before anything can refuse it (authentication included).
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (the front door's CSS, Swagger UI and ReDoc) from the web process itself, collected by the
    # release step; in debug straight from the apps' folders. Static paths never take the API stack.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # The rate limit's X-RateLimit-* headers on every counted request (apps/api/shared/throttling.py).
    "apps.api.shared.throttling.RateLimitHeadersMiddleware",
    # Innermost and sync-only on purpose: under ASGI Django then runs the whole chain above in the request's
    # thread, instead of hopping loop <-> thread for every process_request/process_response (~13 hops, about
    # a third of a message POST's time under daphne). No middleware above reads the body, so the size check
    # still comes before anything parses it.
    "apps.core.middleware.RequestSizeLimitMiddleware",
]

# Threads that serve cookie-less API requests in each web process (apps/core/handlers.py), kept from request to
# request. One request holds one while its view runs (a synchronous model call included; a stream's body runs
# elsewhere); requests past it wait for one. Above DB_POOL_MAX_SIZE, since a request may also wait on the model.
API_THREADS = env.int("API_THREADS", default=64)
# Cookie-less requests to the APIs (bearer keys, never sessions) run only these; see apps/core/handlers.py.
API_MIDDLEWARE = [
    "apps.core.middleware.RequestObservationMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "apps.api.shared.throttling.RateLimitHeadersMiddleware",
    "apps.core.middleware.RequestSizeLimitMiddleware",
]

# CORS (django-cors-headers), for browser pages on other origins calling the API surfaces: off unless
# CORS_ALLOWED_ORIGINS lists origins (comma-separated, e.g. https://app.example.com). Bearer keys and stream
# tokens, not cookies, authenticate these calls, so credentials (cookies) are not allowed cross-origin.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/(v1|emotion/v1|studio/api/v1|openai/v1)/"
CORS_ALLOW_HEADERS = ["authorization", "content-type", "idempotency-key", "last-event-id"]
CORS_EXPOSE_HEADERS = ["Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
if DATABASE_URL:
    DATABASES = {"default": env.db_url("DATABASE_URL")}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Under ASGI each request runs on a fresh thread, so persistent per-thread connections would
        # be stranded; a pool keeps connection set-up (~6 ms here) off the request path.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        # A PostgreSQL restart leaves every pooled connection dead. With health checks the pool tests each one as
        # it hands it out and replaces a dead one, so no request fails on a connection that died while idle. The
        # test is a poll of the socket, not psycopg_pool's empty query (a round trip per request): see
        # apps/core/db_pool.py. A request waits at most DB_POOL_TIMEOUT for a connection, then answers 503; and a
        # pool that cannot reconnect gives up after DB_POOL_RECONNECT_TIMEOUT and tries again when the next
        # request asks, instead of backing off for minutes (psycopg_pool's default: up to 5 min) after the
        # database is back.
        from apps.core.db_pool import connection_check

        DB_HEALTH_CHECKS = env.bool("DB_HEALTH_CHECKS", default=True)
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = DB_HEALTH_CHECKS
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "check": connection_check if DB_HEALTH_CHECKS else None,
            "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DB_POOL_MAX_SIZE", default=20),
            "timeout": env.float("DB_POOL_TIMEOUT", default=5.0),
            "reconnect_timeout": env.float("DB_POOL_RECONNECT_TIMEOUT", default=5.0),
        }
        if env.bool("DB_PREPARED_STATEMENTS", default=True):
            # Parameters bound on the server and statements prepared after their 5th run on a connection: the
            # planning PostgreSQL otherwise repeats for every statement was most of its CPU in a turn (2.2 ms of a
            # worker's turn before, 0.9 ms after; bench/turn_cpu.py). Off for a transaction-mode PgBouncer, which
            # cannot keep a connection's prepared statements.
            DATABASES["default"]["OPTIONS"]["server_side_binding"] = True
            DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 5
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            # SQLITE_PATH lets a process started by a test open the test database file.
            "NAME": env.str("SQLITE_PATH", default=str(VAR_DIR / "dramatis.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, channel layer, Celery -----------------------------------------------------------------
if REDIS_URL:
    # Django's Redis backend, keeping its client: see apps/core/redis_cache.py (~1 ms of CPU per cache call).
    CACHES = {"default": {"BACKEND": "apps.core.redis_cache.RedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {
        "default": {
            # The pub/sub layer delivers in ~0.4 ms here against ~2.3 ms for the classic layer.
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Kombu's Redis transport, publishing through a kept client (apps/core/celery_redis.py: ~1 ms per send).
    CELERY_BROKER_TRANSPORT = "apps.core.celery_redis:Transport"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "dramatis"
# A message a worker took but never acknowledged (the worker was killed) goes back to the queue once it is this
# old; Redis has no other way to notice a dead consumer. Longer than any task, since a running task's message is
# redelivered too (the run's claim then turns the second copy away). Each worker looks for such messages every
# CELERY_UNACKED_RESTORE_SECONDS. tests/chaos runs with seconds for both.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.float("CELERY_VISIBILITY_TIMEOUT_SECONDS", default=3600.0),
    "unacked_restore_interval": env.float("CELERY_UNACKED_RESTORE_SECONDS", default=10.0),
    "unacked_restore_throttle": 1,  # every sweep scans, so the interval above is the only knob
}
RUNS_RECOVER_INTERVAL_SECONDS = env.float("RUNS_RECOVER_INTERVAL_SECONDS", default=15.0)
# A queued run not taken this long after it was due lost its broker message (the broker was down, restarted or
# flushed): the recovery sweep hands it off again. Redis is not the record of a turn; PostgreSQL is.
RUNS_RECOVER_QUEUED_AFTER_SECONDS = env.float("RUNS_RECOVER_QUEUED_AFTER_SECONDS", default=30.0)
CELERY_BEAT_SCHEDULE = {
    "runs-recover": {
        "task": "apps.conversations.tasks.runs_recover_task",
        "schedule": RUNS_RECOVER_INTERVAL_SECONDS,
    },
    "images-recover": {
        "task": "apps.conversations.tasks.images_recover_task",
        "schedule": env.float("IMAGE_RECOVER_INTERVAL_SECONDS", default=60.0),
    },
    "idempotency-records-purge": {
        "task": "apps.conversations.tasks.idempotency_records_purge_task",
        "schedule": 3600.0,
    },
    "telegram-deliveries-sweep": {
        "task": "apps.delivery.telegram.tasks.telegram_deliveries_sweep_task",
        "schedule": env.float("TELEGRAM_SWEEP_INTERVAL_SECONDS", default=5.0),
    },
    "telegram-updates-purge": {
        "task": "apps.delivery.telegram.tasks.telegram_updates_purge_task",
        "schedule": 3600.0,
    },
    "persona-proactive-sweep": {
        "task": "apps.personas.tasks.persona_proactive_sweep_task",
        "schedule": env.float("PERSONA_PROACTIVE_SWEEP_SECONDS", default=60.0),
    },
    "personas-deleted-purge": {
        "task": "apps.personas.tasks.personas_deleted_purge_task",
        "schedule": 3600.0,
    },
    "proactive-scan": {
        "task": "apps.conversations.tasks.proactive_scan_task",
        "schedule": env.float("PROACTIVE_SCAN_INTERVAL_SECONDS", default=30.0),
    },
    "direct-images-purge": {
        "task": "apps.assets.tasks.direct_images_purge_task",
        "schedule": 3600.0,
    },
    "webhook-deliveries-sweep": {
        "task": "apps.delivery.tasks.webhook_deliveries_sweep_task",
        "schedule": env.float("WEBHOOK_SWEEP_INTERVAL_SECONDS", default=2.0),
    },
}
# Proactive messages: each scan claims due sessions in batches (one transaction each) up to a limit per tick;
# what is left is claimed by the next tick. Any number of beats and workers may scan at once.
PROACTIVE_SCAN_BATCH_SIZE = env.int("PROACTIVE_SCAN_BATCH_SIZE", default=100)
PROACTIVE_SCAN_MAX_BATCHES = env.int("PROACTIVE_SCAN_MAX_BATCHES", default=50)
# An Idempotency-Key replays its first answer for at least this long; the hourly purge then forgets it.
IDEMPOTENCY_KEY_TTL_HOURS = env.float("IDEMPOTENCY_KEY_TTL_HOURS", default=24.0)

# Where handed-off work (turns, webhook sends, Telegram drains) runs (apps/core/executor.py): "celery"
# (production: the broker and worker processes) or "inprocess" (embedded default: one thread pool inside
# the web process, RUN_EXECUTOR_THREADS threads). Both call the same task functions.
RUN_EXECUTOR = env.str("RUN_EXECUTOR", default="celery" if REDIS_URL else "inprocess")
if RUN_EXECUTOR not in {"celery", "inprocess"}:
    raise ImproperlyConfigured("RUN_EXECUTOR must be 'celery' or 'inprocess'.")
RUN_EXECUTOR_THREADS = env.int("RUN_EXECUTOR_THREADS", default=10)
RUN_LEASE_SECONDS = env.int("RUN_LEASE_SECONDS", default=90)
RUN_MAX_ATTEMPTS = env.int("RUN_MAX_ATTEMPTS", default=4)
RUN_RETRY_BACKOFF_SECONDS = env.float("RUN_RETRY_BACKOFF_SECONDS", default=2.0)

# The event bus (apps/core/events.py): committed events are announced to these sinks (dotted paths, the way
# Django names its backends), each taking the topics it declares: a session's event log (streams, Telegram,
# webhooks) and molroo's persona events (emotion WebSockets, persona webhooks, recorded in the turn's own
# transaction). The announcing apps never import the delivery app; delivery provides the sinks.
EVENT_SINKS = env.list(
    "EVENT_SINKS",
    default=[
        "apps.delivery.sinks.ChannelLayerSink",
        "apps.delivery.sinks.TelegramSink",
        "apps.delivery.sinks.WebhookSink",
        "apps.delivery.persona_sinks.PersonaSocketSink",
        "apps.delivery.persona_sinks.PersonaWebhookSink",
    ],
)
if env.str("PERSONA_EVENT_SINKS", default=""):
    raise ImproperlyConfigured(
        "PERSONA_EVENT_SINKS is gone: list its sinks in EVENT_SINKS (the default there includes "
        "apps.delivery.persona_sinks.PersonaSocketSink and apps.delivery.persona_sinks.PersonaWebhookSink) "
        "and unset it."
    )

# --- Webhooks -------------------------------------------------------------------------------------
# Networks webhooks may reach although they are not public (CIDRs). Everything private, loopback,
# link-local, unique-local, multicast or reserved is refused otherwise, on save and on every send.
WEBHOOK_ALLOWED_NETWORKS = env.list("WEBHOOK_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"] if EMBEDDED else [])
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Waits after each failed attempt (the first attempt is immediate): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
WEBHOOK_RETRY_SCHEDULE_SECONDS = [
    float(value)
    for value in env.list("WEBHOOK_RETRY_SCHEDULE_SECONDS", default=[5, 300, 1800, 7200, 18000, 36000, 36000])
]
WEBHOOK_RETRY_JITTER = env.float("WEBHOOK_RETRY_JITTER", default=0.1)
# A sender's claim on a row; a sender that dies mid-request leaves the row to be sent again after this.
WEBHOOK_LEASE_SECONDS = env.float("WEBHOOK_LEASE_SECONDS", default=60.0)
# An endpoint is disabled after this many consecutive failures spanning at least this long.
WEBHOOK_DISABLE_AFTER_FAILURES = env.int("WEBHOOK_DISABLE_AFTER_FAILURES", default=20)
WEBHOOK_DISABLE_AFTER_SECONDS = env.float("WEBHOOK_DISABLE_AFTER_SECONDS", default=5 * 86400.0)
WEBHOOK_SEND_BATCH = env.int("WEBHOOK_SEND_BATCH", default=50)
WEBHOOK_MAX_CONNECTIONS = env.int("WEBHOOK_MAX_CONNECTIONS", default=200)

# Request rates are the apps' plans now (accounts.Plan, edited in the admin; docs/plans-and-limits.md), on every
# surface: EMOTION_RATE_LIMIT_PER_MINUTE and NPC_REQUESTS_PER_MINUTE are retired and ignored.
# Where the limiter keeps its counters in Redis (REDIS_URL; without it, in the web process's memory).
RATE_LIMIT_KEY_PREFIX = env.str("RATE_LIMIT_KEY_PREFIX", default="dramatis-rate")

# --- Secrets at rest -----------------------------------------------------------------------------
# Fernet keys for secrets stored in the database (bot tokens, webhook secrets); comma-separated, the first
# encrypts, all decrypt (rotation). Empty: a key derived from SECRET_KEY. See apps/core/secrets.py.
FIELD_ENCRYPTION_KEY = env.list("FIELD_ENCRYPTION_KEY", default=[])

# --- Telegram (managed delivery channel) ----------------------------------------------------------
# The https:// address Telegram (and other callers from outside) reach this server at; bot webhooks point
# at <PUBLIC_BASE_URL>/hooks/telegram/<channel id>. Connecting a bot fails with 503 while it is unset.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="")
TELEGRAM_API_BASE_URL = env.str("TELEGRAM_API_BASE_URL", default="https://api.telegram.org")
TELEGRAM_TIMEOUT_SECONDS = env.float("TELEGRAM_TIMEOUT_SECONDS", default=10.0)
# Sends of one event before it is given up (429s count too; their retry_after is honoured).
TELEGRAM_MAX_ATTEMPTS = env.int("TELEGRAM_MAX_ATTEMPTS", default=8)
TELEGRAM_RETRY_BACKOFF_SECONDS = env.float("TELEGRAM_RETRY_BACKOFF_SECONDS", default=2.0)
# A chat's sender holds it this long; if the sender dies, another takes the chat over after it.
TELEGRAM_LEASE_SECONDS = env.float("TELEGRAM_LEASE_SECONDS", default=60.0)

# --- LLM ------------------------------------------------------------------------------------------
LLM_BASE_URL = env.str("LLM_BASE_URL", default="")
LLM_API_KEY = env.str("LLM_API_KEY", default="")
LLM_CHAT_MODEL = env.str("LLM_CHAT_MODEL", default="scripted" if not LLM_BASE_URL else "gpt-4o-mini")
LLM_TIMEOUT_SECONDS = env.float("LLM_TIMEOUT_SECONDS", default=60.0)
LLM_MAX_TOKENS = env.int("LLM_MAX_TOKENS", default=400)
# Images: the default image model (``builtin``: the offline Pillow renderer, a development stand-in; or the
# name of a ``type=sd`` model of the catalog) and its picture size (its price: IMAGE_CREDITS_PER_IMAGE below).
IMAGE_MODEL = env.str("IMAGE_MODEL", default="builtin")
IMAGE_WIDTH = env.int("IMAGE_WIDTH", default=512)
IMAGE_HEIGHT = env.int("IMAGE_HEIGHT", default=512)
# Generated images are drawn off the turn's path on their own queue (Celery queue ``images``; on the embedded
# default, a pool of IMAGE_EXECUTOR_THREADS threads beside the turns' pool). A transient backend error is
# retried with backoff up to IMAGE_MAX_ATTEMPTS drawings in all; then the image fails (``image.failed``).
IMAGE_EXECUTOR_THREADS = env.int("IMAGE_EXECUTOR_THREADS", default=2)
IMAGE_MAX_ATTEMPTS = env.int("IMAGE_MAX_ATTEMPTS", default=3)
IMAGE_RETRY_BACKOFF_SECONDS = env.float("IMAGE_RETRY_BACKOFF_SECONDS", default=5.0)
# An image still pending this long after its last change lost its drawing job (a worker died): the recovery
# sweep (every IMAGE_RECOVER_INTERVAL_SECONDS) hands it off again. Longer than a drawing with its retries.
IMAGE_RECOVER_AFTER_SECONDS = env.float("IMAGE_RECOVER_AFTER_SECONDS", default=300.0)
# Bring-your-own-key requests (the NPC SDK's X-LLM-API-Key) go to this OpenAI-compatible server, with this
# model unless the request names one.
LLM_BYOK_BASE_URL = env.str("LLM_BYOK_BASE_URL", default="https://api.openai.com/v1")
LLM_BYOK_DEFAULT_MODEL = env.str("LLM_BYOK_DEFAULT_MODEL", default="gpt-4o-mini")
LLM_HISTORY_EVENTS = env.int("LLM_HISTORY_EVENTS", default=40)  # most recent messages read for a prompt
# The prompt's token budget (docs/operators.md, "Memory and the prompt budget"): the lower of this and the
# model's context less its reply, less the LLM_TOKEN_MARGIN share for tokenizers that count differently.
LLM_PROMPT_TOKENS = env.int("LLM_PROMPT_TOKENS", default=4096)
LLM_TOKEN_MARGIN = env.float("LLM_TOKEN_MARGIN", default=0.1)

# --- Memory (docs/operators.md, "Memory and the prompt budget") ------------------------------------
MEMORY_ENABLED = env.bool("MEMORY_ENABLED", default=True)
# A session's unsummarised history past this many tokens queues a summary (a background task); the newest
# MEMORY_RECENT_MESSAGES messages stay verbatim, the rest fold into the summary.
MEMORY_SUMMARY_TRIGGER_TOKENS = env.int("MEMORY_SUMMARY_TRIGGER_TOKENS", default=1200)
MEMORY_RECENT_MESSAGES = env.int("MEMORY_RECENT_MESSAGES", default=8)
MEMORY_SUMMARY_MAX_TOKENS = env.int("MEMORY_SUMMARY_MAX_TOKENS", default=500)
# Who extracts facts and writes summaries: "model" (a JSON call, metered), "offline" (the documented rules of
# apps/conversations/memory/extraction.py, no call), or "auto" (offline for the scripted model, else model).
MEMORY_EXTRACTOR = env.str("MEMORY_EXTRACTOR", default="auto")
MEMORY_FACTS_PER_TURN = env.int("MEMORY_FACTS_PER_TURN", default=8)
MEMORY_BLOCK_MAX_CHARS = env.int("MEMORY_BLOCK_MAX_CHARS", default=2000)
MEMORY_MAX_BLOCKS = env.int("MEMORY_MAX_BLOCKS", default=16)
# Emotion appraisal of each message: "auto" = the LLM when the appraisal model is a real provider, else the
# offline lexicon; "llm" or "lexicon" force one. EMOTION_APPRAISAL_MODEL names a catalog model (default chat model).
EMOTION_APPRAISER = env.str("EMOTION_APPRAISER", default="auto")
if EMOTION_APPRAISER not in {"auto", "llm", "lexicon"}:
    raise ImproperlyConfigured("EMOTION_APPRAISER must be one of: auto, llm, lexicon.")
EMOTION_APPRAISAL_MODEL = env.str("EMOTION_APPRAISAL_MODEL", default="")
# The rate card of models that come from these settings (catalog rows carry their own rates in the admin).
LLM_INPUT_CREDITS_PER_1K = env.float("LLM_INPUT_CREDITS_PER_1K", default=1.0)
LLM_OUTPUT_CREDITS_PER_1K = env.float("LLM_OUTPUT_CREDITS_PER_1K", default=2.0)
# What one picture of the built-in renderer costs (listed on GET /v1/rates, charged per generated image).
IMAGE_CREDITS_PER_IMAGE = env.float("IMAGE_CREDITS_PER_IMAGE", default=10.0)

# --- Product limits -------------------------------------------------------------------------------
# A verified API key is trusted for this long in each process; a revocation made elsewhere lands within it.
API_KEY_CACHE_SECONDS = env.float("API_KEY_CACHE_SECONDS", default=5.0)
MESSAGE_MAX_CHARS = env.int("MESSAGE_MAX_CHARS", default=8000)
REQUEST_MAX_BYTES = env.int("REQUEST_MAX_BYTES", default=256 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_MAX_BYTES
# Who answers a body over the limit, by path prefix (longest wins): each surface in its own error shape.
PAYLOAD_TOO_LARGE_RENDERERS = {
    "/emotion/v1/": "apps.api.emotion.errors.payload_too_large_response",
    "/npc/": "apps.api.npc.errors.payload_too_large_response",
    "/studio/": "apps.api.studio.errors.payload_too_large_response",
    "/openai/": "apps.api.openai.errors.payload_too_large_response",
    "/": "apps.api.native.errors.payload_too_large_response",
}
# Who renders an error that escaped a surface's own exception handler (handler500 turns a PostgreSQL or Redis
# outage into a 503 with it), by path prefix (longest wins): each surface's ``Exception -> (body, status,
# headers)`` function.
ERROR_RENDERERS = {
    "/emotion/v1/": "apps.api.emotion.errors.render_error",
    "/npc/": "apps.api.npc.errors.render_error",
    "/studio/": "apps.api.studio.errors.render_error",
    "/openai/": "apps.api.openai.errors.render_error",
    "/": "apps.api.native.errors.render_error",
}
SSE_MAX_SECONDS = env.float("SSE_MAX_SECONDS", default=300.0)
SSE_HEARTBEAT_SECONDS = env.float("SSE_HEARTBEAT_SECONDS", default=15.0)
# How long a stream token (POST /v1/sessions/{id}/stream-token) opens its session's stream: browsers pass it
# as ?token= because EventSource and WebSocket cannot send headers. A stream opened in time stays open.
STREAM_TOKEN_TTL_SECONDS = env.int("STREAM_TOKEN_TTL_SECONDS", default=300)
# Streams held open at once per API key (a stream token counts for its app, a signed-in admin user for that
# user): native SSE, the NPC message/stream, studio and OpenAI ``stream: true``, the emotion WebSocket. One
# more is refused (429 in the surface's shape with Retry-After, or WebSocket close 4029). 20 covers a backend
# that keeps a stream per active session of a few busy users or a browser with several tabs per stream token,
# while one leaked client loop cannot pin a web process's threads, sockets and Redis subscriptions (every
# stream holds a channel-layer subscription; an SSE reply also holds a thread while the model writes). Give a
# backend that fans out many end-users' streams through one key a larger value, or mint stream tokens.
STREAM_MAX_CONNECTIONS_PER_KEY = env.int("STREAM_MAX_CONNECTIONS_PER_KEY", default=20)
# An open stream's lease in the count is refreshed every third of this; a crashed server's leases lapse after it.
STREAM_LEASE_SECONDS = env.float("STREAM_LEASE_SECONDS", default=60.0)
STREAM_LEASE_KEY_PREFIX = env.str("STREAM_LEASE_KEY_PREFIX", default="dramatis-streams")
# Unanswered turns (runs queued or being written) at once: a message past either is refused with 429
# too_many_pending_turns and nothing is written. 8 per session is more than any chat client queues up (each
# turn is answered in order); 200 per app bounds what one tenant can pile onto the shared workers.
TURNS_MAX_PENDING_PER_SESSION = env.int("TURNS_MAX_PENDING_PER_SESSION", default=8)
TURNS_MAX_PENDING_PER_APP = env.int("TURNS_MAX_PENDING_PER_APP", default=200)
DEMO_SANDBOX_ENABLED = env.bool("DEMO_SANDBOX_ENABLED", default=EMBEDDED)
DEMO_SANDBOX_ISSUE_PER_HOUR = env.int("DEMO_SANDBOX_ISSUE_PER_HOUR", default=20)
# The context window of a chat model whose catalog row leaves context_tokens at 0 (and of the LLM_* settings'
# models); the studio lists it as max_context.
LLM_CONTEXT_TOKENS = env.int("LLM_CONTEXT_TOKENS", default=8192)
DEMO_SANDBOX_TTL_HOURS = env.int("DEMO_SANDBOX_TTL_HOURS", default=24)

# --- Django REST framework and OpenAPI ------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.api.shared.authentication.ApiKeyAuthentication",
        "apps.api.shared.authentication.StaffPlaygroundAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.api.shared.authentication.HasApp"],
    # Every surface's one rate limiter, from the app's plan (a view opts out with rate_limit_exempt = True).
    "DEFAULT_THROTTLE_CLASSES": ["apps.api.shared.throttling.PlanRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "apps.api.native.renderers.BrowsableApiRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "apps.api.native.errors.native_exception_handler",
    "VIEW_NAME_FUNCTION": "apps.api.native.envelope.view_name",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Dramatis native API",
    "DESCRIPTION": "AI characters for your app: characters, sessions, messages, runs and events.",
    "VERSION": DRAMATIS_VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/v1",
    "PREPROCESSING_HOOKS": ["apps.api.native.schema.only_native_paths"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.api.native.schema.add_event_stream",
        "apps.api.native.schema.add_signed_files",
    ],
    "SERVERS": [],
    # Names for choice sets that several fields share, so the schema builds without drf-spectacular's warnings.
    "ENUM_NAME_OVERRIDES": {
        "ChannelScopeEnum": ["session", "app"],
        "ChannelStatusEnum": ["active", "disabled"],
        "BudgetScopeEnum": ["app", "external_user"],
        "UsageStatusEnum": ["reserved", "settled"],
        "ProactiveSettingSourceEnum": ["session", "character", "default"],
        "VisualAssetCategoryEnum": ["identity", "wardrobe", "accessory", "prop", "place", "scene", "style", "keyframe"],
        "VisualAssetStatusEnum": ["active", "candidate", "retired"],
    },
    # Swagger UI and ReDoc from the drf-spectacular-sidecar package: no CDN, so they work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- The rest of Django ---------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# A faster clock, for test stacks only (tests/chaos runs a simulated day of proactive messages in a minute): from
# the unix time CLOCK_EPOCH on, ``apps.core.clock`` runs CLOCK_RATE times as fast as the wall clock. Every process
# of a stack gets the same two values, so all agree on "now". Never set in production.
CLOCK_RATE = env.float("CLOCK_RATE", default=1.0)
CLOCK_EPOCH = env.float("CLOCK_EPOCH", default=0.0)
if CLOCK_RATE <= 0 or (CLOCK_RATE != 1.0 and not CLOCK_EPOCH):
    raise ImproperlyConfigured("CLOCK_RATE must be positive, and CLOCK_EPOCH set when it is not 1.")
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
# WhiteNoise looks here from the start (collectstatic fills it); a read-only install points DRAMATIS_VAR_DIR
# at a folder where its files were collected.
with contextlib.suppress(OSError):
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
LOG_LEVEL = env.str("LOG_LEVEL", default="WARNING")
# One JSON object per line in production (time, level, logger, message, and the request_id, app_id, session_id
# and run_ref of what was being handled: apps/core/log_context.py); plain text on the embedded default.
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured("LOG_FORMAT must be 'json' or 'text'.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "apps.core.log_context.ContextFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": ["levelname", "name", "message"],
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
        },
        "text": {"format": "%(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Django's default config gives the "django" logger a console handler of its own (active in debug) that
    # also propagates to ours on the root, so every 4xx ("Not Found: /v1/...") was printed twice. Without
    # handlers of its own, each record goes out once, through the root's handler. (ADMINS is not set, so
    # the default mail_admins handler had nothing to send.)
    "loggers": {"django": {"handlers": [], "level": LOG_LEVEL, "propagate": True}},
}

# --- Health, readiness and metrics (docs/operators.md) ----------------------------------------------
# /metrics answers only with "Authorization: Bearer <METRICS_TOKEN>"; unset, /metrics is a 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Every process of this machine writes its metric samples here (prometheus-client's multiprocess mode) and
# /metrics adds them up. prometheus-client reads the variable when it is imported, so it is set here, first.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default=str(VAR_DIR / "prometheus"))
os.environ["PROMETHEUS_MULTIPROC_DIR"] = PROMETHEUS_MULTIPROC_DIR
with contextlib.suppress(OSError):
    Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
# Each /readyz check gives up after this long, so readiness never hangs on a dead dependency.
READINESS_TIMEOUT_SECONDS = env.float("READINESS_TIMEOUT_SECONDS", default=1.0)
# Celery workers write a heartbeat to Redis this often; /readyz fails when the newest is older than the max age.
WORKER_HEARTBEAT_SECONDS = env.float("WORKER_HEARTBEAT_SECONDS", default=5.0)
WORKER_HEARTBEAT_MAX_AGE_SECONDS = env.float("WORKER_HEARTBEAT_MAX_AGE_SECONDS", default=30.0)
WORKER_HEARTBEAT_KEY = env.str("WORKER_HEARTBEAT_KEY", default="dramatis:worker-heartbeats")

# Uploaded visual assets and generated images, through Django's storage API: local files under MEDIA_ROOT by
# default (never served directly: the API hands out signed, expiring URLs), or any django-storages backend
# (S3-compatible: FILE_STORAGE_BACKEND=storages.backends.s3.S3Storage and its AWS_* settings).
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": env.str("FILE_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage")},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Visual assets: an upload is refused (422 image_rejected) over this many bytes or pixels (width x height,
# judged from the header before any pixel is decoded); thumbnails are this many pixels on the long side.
ASSET_MAX_BYTES = env.int("ASSET_MAX_BYTES", default=10 * 1024 * 1024)
ASSET_MAX_PIXELS = env.int("ASSET_MAX_PIXELS", default=4096 * 4096)
ASSET_THUMBNAIL_SIZE = env.int("ASSET_THUMBNAIL_SIZE", default=256)
# Character Card import (docs/integrators/cards.md): a card file is refused (422, one code per reason) over
# CARD_MAX_BYTES; its JSON (a PNG chunk, card.json or a JSON file) over CARD_MAX_CHUNK_BYTES; a PNG whose header
# declares more than CARD_MAX_PIXELS pixels; a CHARX with more members, more unpacked bytes or a bigger
# expansion ratio (per member over 1 MB) than the CARD_ZIP_* limits. The picture then passes the asset checks.
CARD_MAX_BYTES = env.int("CARD_MAX_BYTES", default=ASSET_MAX_BYTES)
CARD_MAX_CHUNK_BYTES = env.int("CARD_MAX_CHUNK_BYTES", default=8 * 1024 * 1024)
CARD_MAX_PIXELS = env.int("CARD_MAX_PIXELS", default=ASSET_MAX_PIXELS)
CARD_ZIP_MAX_MEMBERS = env.int("CARD_ZIP_MAX_MEMBERS", default=256)
CARD_ZIP_MAX_UNCOMPRESSED_BYTES = env.int("CARD_ZIP_MAX_UNCOMPRESSED_BYTES", default=64 * 1024 * 1024)
CARD_ZIP_MAX_RATIO = env.int("CARD_ZIP_MAX_RATIO", default=100)
# The upload routes (native multipart upload, card import, the admin's asset and card forms) take bodies up to
# this size instead of REQUEST_MAX_BYTES: the file plus room for the form fields. Bigger bodies are refused with
# 413 unread.
UPLOAD_REQUEST_MAX_BYTES = env.int(
    "UPLOAD_REQUEST_MAX_BYTES", default=max(ASSET_MAX_BYTES, CARD_MAX_BYTES) + 256 * 1024
)
UPLOAD_PATH_PATTERNS = [
    r"^/v1/characters/[^/]+/visual-assets/?$",
    r"^/v1/characters/import/?$",
    r"^/admin/characters/character/import-card/$",
    r"^/admin/assets/visualasset/(add|[^/]+/change)/$",
    r"^/admin/characters/character/[^/]+/change/$",
]
# POST .../visual-assets/register-url fetches an https image once, through the same SSRF guard as webhooks:
# only globally routable addresses, plus the networks listed here (e.g. an internal image server).
# ASSET_FETCH_ALLOW_HTTP lets plain http:// through too: for tests and development only.
ASSET_FETCH_ALLOWED_NETWORKS = env.list("ASSET_FETCH_ALLOWED_NETWORKS", default=[])
ASSET_FETCH_ALLOW_HTTP = env.bool("ASSET_FETCH_ALLOW_HTTP", default=False)
ASSET_FETCH_TIMEOUT_SECONDS = env.float("ASSET_FETCH_TIMEOUT_SECONDS", default=10.0)
# Signed file URLs (visual assets, generated images) stay valid this long after they are minted.
FILE_URL_TTL_SECONDS = env.int("FILE_URL_TTL_SECONDS", default=3600)

# The admin's tenant scoping (apps/core/admin_scoping.py): the model whose rows are the tenants, and the function
# that answers which of them a staff user is bound to (core names them here because it cannot import accounts).
ADMIN_TENANT_MODEL = "accounts.App"
ADMIN_STAFF_APP_ID = "apps.accounts.selectors.app_staff_app_id"
