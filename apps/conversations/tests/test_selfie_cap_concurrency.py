"""The daily image cap under concurrency, with real threads each on its own connection and real commits: the
slot is one conditional INSERT ... ON CONFLICT DO UPDATE, so however the turns interleave, exactly ``cap`` of
them take a slot. Runs on SQLite (IMMEDIATE transactions) and, in CI, on PostgreSQL."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from django.db import transaction

from apps.conversations.models import SelfieDayCount
from apps.conversations.services.selfies import selfie_slot_take
from apps.conversations.tests.factories import session_start
from apps.conversations.tests.test_concurrency import own_connection

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_turns_take_exactly_the_cap(owner):
    app = owner.api_key.app
    session = session_start(app)
    cap, contenders = 4, 16
    start = threading.Barrier(contenders)
    day = date(2026, 3, 2)

    @own_connection
    def take(index: int) -> bool:
        start.wait()
        with transaction.atomic():  # as in a turn's outcome transaction, committed for real
            return selfie_slot_take(
                app_id=app.pk, character_id=session.character_id, external_user_ref="user_1", day=day, cap=cap
            )

    with ThreadPoolExecutor(max_workers=contenders) as pool:
        taken = sum(pool.map(take, range(contenders)))

    assert taken == cap
    assert SelfieDayCount.objects.get().count == cap
    # another day, or another end-user, has its own count
    assert selfie_slot_take(
        app_id=app.pk, character_id=session.character_id, external_user_ref="user_1", day=date(2026, 3, 3), cap=cap
    )
    assert selfie_slot_take(
        app_id=app.pk, character_id=session.character_id, external_user_ref="user_2", day=day, cap=cap
    )
