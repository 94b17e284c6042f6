"""``manage.py serve``: the whole system in one process on the embedded default (what ``make run`` starts).

Migrates, creates a local superuser on first run (printing its password once), then serves HTTP, the
admin, the browsable API and SSE with daphne, and runs turns and periodic jobs in-process. It serves the
whole site (``config.asgi``), so it belongs to ``apps.api``, above the surfaces, not to any one of them.
"""

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.management import call_command
from django.core.management.base import BaseCommand

from apps.core.scheduler import embedded_scheduler_start


class Command(BaseCommand):
    help = "Run Dramatis (web, in-process worker and scheduler) in one process."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-migrate", action="store_true")

    def handle(self, *args, host: str, port: int, no_migrate: bool, **options) -> None:
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        password = self._first_superuser()
        self._banner(host, port, password)
        if settings.RUN_EXECUTOR == "inprocess":
            embedded_scheduler_start()  # its first tick also recovers the runs left over from the last shutdown
        self._serve(host, port)

    def _first_superuser(self) -> str | None:
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            return None
        password = secrets.token_urlsafe(12)
        users.objects.create_superuser("admin", "admin@localhost", password)
        return password

    def _banner(self, host: str, port: int, password: str | None) -> None:
        base = f"http://{host}:{port}"
        mode = "embedded (SQLite, in-process worker)" if settings.EMBEDDED else "configured from the environment"
        lines = [
            "",
            f"Dramatis is running at {base}  [{mode}; LLM model: {settings.LLM_CHAT_MODEL}]",
            f"  API guide:     {base}/v1/llms.txt    OpenAPI: {base}/v1/openapi.json",
            f"  Get a key:     curl -X POST {base}/v1/demo/sandbox-key" if settings.DEMO_SANDBOX_ENABLED else "",
            "                 or: .venv/bin/python manage.py createapikey --app myapp",
            f"  Admin:         {base}/admin/",
        ]
        if password:
            lines.append(f"                 user 'admin', password '{password}'  (shown once; change it in the admin)")
        else:
            lines.append("                 log in with your superuser (manage.py changepassword admin to reset)")
        self.stdout.write("\n".join(line for line in lines if line) + "\n")

    def _serve(self, host: str, port: int) -> None:
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server

        from config.asgi import application

        Server(
            application=ASGIStaticFilesHandler(application) if settings.DEBUG else application,
            endpoints=build_endpoint_description_strings(host=host, port=port),
            http_timeout=None,
            websocket_timeout=86400,
            server_name="dramatis",
        ).run()
