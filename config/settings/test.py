"""Settings of the test suite (pytest-django selects this module in pyproject.toml): ``base`` plus what tests need.

Only what lets test runs work side by side and quickly changes here; everything else is what production runs.
Processes that a live test starts (servers, workers) run ``config.settings`` like production, pointed at the
test database by ``SQLITE_PATH`` or ``DATABASE_URL``.
"""

import os
import shutil
from pathlib import Path

from config.settings.base import *  # noqa: F403
from config.settings.base import CACHES, DATABASES, VAR_DIR, env

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file (not :memory:) so that a server started by a test sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_dramatis.sqlite3")}

# pytest-xdist runs test workers side by side against one Redis: each keeps its cache keys under its own
# prefix (the root conftest clears only those), so one worker's cache.clear() never empties another's.
if XDIST_WORKER := env.str("PYTEST_XDIST_WORKER", default=""):
    CACHES["default"]["KEY_PREFIX"] = f"test-{XDIST_WORKER}"

# The suite creates a few users with passwords; Django's default hasher spends ~0.3 s of CPU on each.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tests send traffic to 127.0.0.1 only: a bring-your-own-key call a test did not point at its fake server
# goes to the discard port and fails at once.
LLM_BYOK_BASE_URL = "http://127.0.0.1:9/v1"

# Files the suite writes (uploaded assets, generated images) stay out of the real media folder, one folder per
# xdist worker.
MEDIA_ROOT = VAR_DIR / "test-media" / (XDIST_WORKER or "main")

# Metric samples of this test process (and of the servers and workers its live tests start, which inherit the
# variable) in a folder of its own, emptied at start: tests read deltas of this process's metrics only.
PROMETHEUS_MULTIPROC_DIR = str(VAR_DIR / "test-prometheus" / (XDIST_WORKER or "main"))
shutil.rmtree(PROMETHEUS_MULTIPROC_DIR, ignore_errors=True)
Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = PROMETHEUS_MULTIPROC_DIR
