"""The clock: the wall clock, unless a test stack runs it faster (``CLOCK_RATE`` from ``CLOCK_EPOCH``)."""

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings as django_settings
from django.utils import timezone

from apps.core import clock


def test_the_clock_is_the_wall_clock_by_default():
    before = timezone.now()
    assert before <= clock.now() <= timezone.now()


def test_a_faster_clock_runs_rate_times_the_wall_clock_from_its_epoch(settings):
    settings.CLOCK_RATE = 60.0
    settings.CLOCK_EPOCH = time.time() - 10  # ten real seconds ago: ten simulated minutes have passed
    epoch = datetime.fromtimestamp(settings.CLOCK_EPOCH, UTC)
    elapsed = clock.now() - epoch
    assert timedelta(minutes=10) <= elapsed < timedelta(minutes=10, seconds=30)


def _settings_of(env: dict[str, str]) -> subprocess.CompletedProcess:
    code = (
        "from django.conf import settings; import django; django.setup(); "
        "print(settings.CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'], settings.CLOCK_RATE)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=django_settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_visibility_timeout_and_the_clock_come_from_the_environment():
    done = _settings_of({"CELERY_VISIBILITY_TIMEOUT_SECONDS": "7", "CLOCK_RATE": "2", "CLOCK_EPOCH": "1700000000"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["7.0", "2.0"]


def test_a_faster_clock_without_an_epoch_is_refused_at_start():
    done = _settings_of({"CLOCK_RATE": "2"})
    assert done.returncode != 0
    assert "CLOCK_EPOCH" in done.stderr
