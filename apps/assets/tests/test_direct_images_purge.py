"""The sweep that deletes the OpenAI door's picture files once every signed URL to them has expired."""

import os
import time

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from apps.assets import services
from apps.assets.services.direct_images import DIRECT_ROOT


def _store(name: str, age_seconds: float) -> str:
    stored = default_storage.save(name, ContentFile(b"picture"))
    stamp = time.time() - age_seconds
    os.utime(default_storage.path(stored), (stamp, stamp))
    return stored


def test_only_files_older_than_their_links_are_deleted_and_nothing_outside_the_folder(settings):
    settings.FILE_URL_TTL_SECONDS = 600
    expired = _store(f"{DIRECT_ROOT}/2026/01/expired-test.png", age_seconds=600 + 3600 + 60)
    fresh = _store(f"{DIRECT_ROOT}/2026/12/fresh-test.png", age_seconds=60)
    elsewhere = _store("images/other/old-test.png", age_seconds=10 * 86400)
    try:
        assert services.direct_images_purge() >= 1
        assert not default_storage.exists(expired)
        assert default_storage.exists(fresh) and default_storage.exists(elsewhere)
        assert services.direct_images_purge(older_than_seconds=0) >= 1
        assert not default_storage.exists(fresh)
    finally:
        for name in (expired, fresh, elsewhere):
            if default_storage.exists(name):
                default_storage.delete(name)


def test_an_empty_or_missing_folder_is_nothing_to_do(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    settings.MEDIA_ROOT = str(tmp_path)
    assert services.direct_images_purge() == 0
