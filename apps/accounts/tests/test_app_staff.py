"""Binding staff users to one app: one binding per user, moved rather than duplicated; the selector's answer."""

from apps.accounts import selectors, services
from apps.accounts.models import AppStaff


def test_a_user_is_bound_to_one_app_at_most(db, django_user_model):
    first, second = services.app_create(name="first"), services.app_create(name="second")
    user = django_user_model.objects.create_user(username="writer", is_staff=True)
    assert selectors.app_staff_app_id(user=user) is None

    services.app_staff_bind(user=user, app=first)
    services.app_staff_bind(user=user, app=second)  # moves the binding

    assert list(AppStaff.objects.filter(user=user).values_list("app_id", flat=True)) == [second.pk]
    fresh = django_user_model.objects.get(pk=user.pk)  # the selector keeps its answer on the user object
    assert selectors.app_staff_app_id(user=fresh) == second.pk
    assert selectors.app_staff_app(user=fresh) == second

    assert services.app_staff_unbind(user=user) is True
    assert services.app_staff_unbind(user=user) is False
    assert selectors.app_staff_app(user=django_user_model.objects.get(pk=user.pk)) is None


def test_the_answer_is_read_once_per_user_object(db, django_user_model, django_assert_num_queries):
    app = services.app_create(name="first")
    user = django_user_model.objects.create_user(username="writer", is_staff=True)
    services.app_staff_bind(user=user, app=app)
    with django_assert_num_queries(1):
        assert selectors.app_staff_app_id(user=user) == app.pk
        assert selectors.app_staff_app_id(user=user) == app.pk
