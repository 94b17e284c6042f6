"""CompiledRead: the same results as the plain queryset, compiled once, on the calling thread's connection."""

import threading

import pytest
from django.contrib.auth.models import Permission
from django.db import connections
from django.test.utils import CaptureQueriesContext

from apps.core.compiled import CompiledRead

pytestmark = pytest.mark.django_db


def _permissions_read(builds: list[str]) -> CompiledRead:
    def build(codename):
        builds.append(codename)
        return Permission.objects.select_related("content_type").filter(codename=codename)

    return CompiledRead(build, markers=["\x00codename"])


def test_fetch_gives_what_the_queryset_gives_with_related_objects_in_the_same_query(django_assert_num_queries):
    builds: list[str] = []
    read = _permissions_read(builds)
    codenames = ["add_user", "change_group", "view_permission", "no_such_permission"]
    for codename in codenames:
        expected = [
            (p.pk, p.name, p.content_type.app_label, p.content_type.model)
            for p in Permission.objects.select_related("content_type").filter(codename=codename)
        ]
        with django_assert_num_queries(1):  # the content type came with the permission
            found = [(p.pk, p.name, p.content_type.app_label, p.content_type.model) for p in read.fetch(codename)]
        assert found == expected
    assert found == []  # the last codename matches nothing
    # built twice (the model, then the one compile) however many fetches: never once per call
    assert builds == ["\x00codename", "\x00codename"]


def test_values_lists_slices_and_several_markers():
    read = CompiledRead(
        lambda app_label, above: (
            Permission.objects.filter(content_type__app_label=app_label, id__gt=above)
            .order_by("-id")
            .values_list("id", "codename")[:3]
        ),
        markers=["\x00app", -987_654_321],
    )
    for app_label, above in [("auth", 0), ("auth", 5), ("contenttypes", 0)]:
        expected = list(
            Permission.objects.filter(content_type__app_label=app_label, id__gt=above)
            .order_by("-id")
            .values_list("id", "codename")[:3]
        )
        assert read.fetch(app_label, above) == expected
        assert expected


def test_a_marker_that_is_not_a_parameter_of_the_query_is_refused():
    read = CompiledRead(lambda codename: Permission.objects.filter(codename="add_user"), markers=["\x00codename"])
    with pytest.raises(ValueError, match="marker"):
        read.fetch("add_user")


@pytest.mark.django_db(transaction=True)
def test_another_thread_runs_it_on_its_own_connection():
    read = _permissions_read([])
    main_result = [p.codename for p in read.fetch("add_user")]  # compiled on this thread's connection
    seen: dict[str, object] = {}

    def other_thread():
        try:
            with CaptureQueriesContext(connections["default"]) as captured:
                seen["result"] = [p.codename for p in read.fetch("change_user")]
            seen["queries"] = len(captured.captured_queries)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert main_result == ["add_user"]
    assert seen == {"result": ["change_user"], "queries": 1}


def test_compiled_insert_writes_what_bulk_create_writes_and_sets_database_made_keys(django_assert_num_queries):
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType

    from apps.core.compiled import CompiledInsert

    insert = CompiledInsert(Permission)
    content_type = ContentType.objects.get_for_model(Group)
    rows = [Permission(name=f"Can test {n}", codename=f"test_{n}", content_type=content_type) for n in range(3)]
    with django_assert_num_queries(1):
        saved = insert.insert(rows)
    assert [row.pk for row in saved] == list(
        Permission.objects.filter(codename__startswith="test_").order_by("pk").values_list("pk", flat=True)
    )
    assert all(row.pk is not None and not row._state.adding for row in saved)
    stored = Permission.objects.get(pk=saved[1].pk)
    assert (stored.name, stored.codename, stored.content_type_id) == ("Can test 1", "test_1", content_type.pk)
    again = insert.insert([Permission(name="Can test 9", codename="test_9", content_type=content_type)])
    assert Permission.objects.get(pk=again[0].pk).codename == "test_9"
    assert insert.insert([]) == []


def test_a_date_marker_works_on_every_backend():
    """SQLite's backend turns dates into text before the driver sees them: the marker is found in that form
    and each real value is adapted the same way (on PostgreSQL both stay dates)."""
    from datetime import date

    from django.contrib.auth.models import User

    User.objects.create(username="early", date_joined="2026-03-01T10:00:00Z")
    User.objects.create(username="late", date_joined="2026-03-02T10:00:00Z")
    read = CompiledRead(
        lambda day: User.objects.filter(date_joined__date=day).values_list("username", flat=True),
        markers=[date(1901, 2, 3)],
    )
    assert read.fetch(date(2026, 3, 1)) == ["early"]
    assert read.fetch(date(2026, 3, 2)) == ["late"]
    assert read.fetch(date(2026, 3, 3)) == []
