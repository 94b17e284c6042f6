"""One app's staff in the admin: every admin class says which kind of rows it shows, and tenant rows are scoped.

Every ModelAdmin registered on the site derives from exactly one of these (``tests/test_admin_tenancy.py`` walks
``admin.site._registry`` and fails on an admin that does not, or on a tenant model whose admin is not scoped):

- ``TenantScopedAdmin`` for rows that belong to one app (characters, sessions, keys, deliveries...). It declares
  ``app_path``, the lookup from its model to the app (``"app"``, ``"session__app"``, ``"machine__npc__app"``;
  ``"pk"`` for the app itself). A superuser sees every app; a staff user bound to an app (``accounts.AppStaff``)
  sees and edits only that app's rows; a non-superuser staff user bound to no app sees none. Django's model
  permissions still decide what a user may do at all: the scope only decides to which rows.
- ``TenantScopedInline`` for the inlines of such pages (their rows and their dropdowns are scoped the same way).
- ``GlobalCatalogAdmin`` for rows every app shares (the LLM and image model catalog): staff with the view
  permission may read them (which models exist, what they cost), only superusers add, change or delete them.
- ``SuperuserOnlyAdmin`` for users and groups: a bound staff user who could edit users could make themselves a
  superuser, so only superusers see these pages.

How a scoped admin keeps another app's rows out of sight:

- ``get_queryset`` filters by ``app_path``. Django's change, history and delete views fetch the object through
  it; when it is not there they would redirect to the index with "doesn't exist" (or answer 403 first when
  deleting is not allowed); for a scoped user they answer 404 (another app's object looks absent, as on the
  API), at the cost of one more query for scoped users only. Changelist actions act on the same queryset.
- ``get_search_results`` (which the autocomplete view also uses) keeps the same filter.
- Every model choice of its forms and its inlines' forms is limited to the app: the ones ``formfield_for_*``
  build and the ones a custom form declares itself (``VisualAssetUploadForm.character``). A choice of the app
  itself is fixed to the user's app and hidden, so a new row always lands in it (``save_model`` sets a direct
  ``app`` foreign key too when the form left it out).
- Related-object list filters list only related rows that the scoped changelist holds
  (``RelatedOnlyFieldListFilter``), so a filter never names another app. A custom ``SimpleListFilter`` must
  build its lookups from ``model_admin.get_queryset(request)`` to stay scoped.
- Custom views (``get_urls``) load their object with ``scoped_object_or_404(request, model_admin, object_id)``
  (or ``self.get_object``, which is scoped, treating None as 404) and never with ``Model.objects.get``.

``core`` cannot import ``accounts``: the tenant model is named by the ``ADMIN_TENANT_MODEL`` setting and a
user's app is resolved by the function named in ``ADMIN_STAFF_APP_ID`` (``accounts.selectors.app_staff_app_id``),
the way Django names its backends.
"""

from collections import deque
from dataclasses import dataclass
from functools import cache

from django import forms
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path, unquote
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.http import Http404
from django.utils.module_loading import import_string

# A foreign-key path longer than this is not searched for (the deepest in use is delivery -> endpoint -> app).
_MAX_PATH_DEPTH = 4
_REQUEST_ATTR = "_dramatis_admin_scope"


def tenant_model() -> type[models.Model]:
    """The model whose rows are the tenants (``accounts.App``)."""
    return django_apps.get_model(settings.ADMIN_TENANT_MODEL)


@dataclass(frozen=True)
class AdminScope:
    """Which tenant rows a request may see: all of them (``everything``), one app's (``app_id``), or none."""

    everything: bool = False
    app_id: str | None = None

    @property
    def is_bound(self) -> bool:
        return not self.everything and self.app_id is not None

    def filter(self, queryset: models.QuerySet, app_path: str | None) -> models.QuerySet:
        """``queryset`` limited to this scope along ``app_path``; a path of None (a shared model) is not limited."""
        if self.everything or app_path is None:
            return queryset
        if self.app_id is None:
            return queryset.none()
        return queryset.filter(**{app_path: self.app_id})


def admin_scope(request) -> AdminScope:
    """The scope of ``request``'s user, worked out once per request."""
    scope = getattr(request, _REQUEST_ATTR, None)
    if scope is None:
        user = request.user
        if user.is_active and user.is_superuser:
            scope = AdminScope(everything=True)
        else:
            scope = AdminScope(app_id=import_string(settings.ADMIN_STAFF_APP_ID)(user=user))
        setattr(request, _REQUEST_ATTR, scope)
    return scope


@cache
def tenant_path(model: type[models.Model]) -> str | None:
    """The shortest lookup from ``model`` to the tenant model along required foreign keys before nullable ones
    (``"pk"`` for the tenant model itself), or None for a model that belongs to no app (a shared catalog).

    Used for the choices of a form field; a registered admin's own rows use its declared ``app_path``.
    """
    tenant = tenant_model()
    if model is tenant:
        return "pk"
    found: list[tuple[int, int, str]] = []
    queue = deque([(model, "", 0, 0)])
    while queue:
        current, path, depth, nullable = queue.popleft()
        if depth >= _MAX_PATH_DEPTH:
            continue
        for field in current._meta.get_fields():
            if not (field.concrete and (field.many_to_one or field.one_to_one)) or field.related_model is None:
                continue
            step = f"{path}__{field.name}" if path else field.name
            rank = nullable + int(field.null)
            if field.related_model is tenant:
                found.append((rank, depth, step))
            elif field.related_model is not current:
                queue.append((field.related_model, step, depth + 1, rank))
    return min(found)[2] if found else None


def scope_choice_field(field: forms.Field, scope: AdminScope) -> None:
    """Limit a model choice field to ``scope``; a choice of the tenant itself is fixed to the user's app and hidden."""
    if not isinstance(field, forms.ModelChoiceField) or scope.everything:
        return
    model = field.queryset.model
    field.queryset = scope.filter(field.queryset, tenant_path(model))
    if model is tenant_model() and scope.is_bound and not isinstance(field, forms.ModelMultipleChoiceField):
        field.initial = scope.app_id
        field.widget = forms.HiddenInput()


def scoped_form_class(form_class: type[forms.BaseForm], request) -> type[forms.BaseForm]:
    """A subclass of ``form_class`` whose every model choice (declared or built by the admin) is scoped."""
    scope = admin_scope(request)
    if scope.everything:
        return form_class

    def __init__(self, *args, **kwargs):
        form_class.__init__(self, *args, **kwargs)
        for field in self.fields.values():
            scope_choice_field(field, scope)
        for name, field in self.fields.items():
            if isinstance(field.widget, forms.HiddenInput) and field.initial == scope.app_id:
                self.initial.setdefault(name, scope.app_id)

    attrs = {"__init__": __init__, "__module__": form_class.__module__}
    return type(form_class)(form_class.__name__, (form_class,), attrs)


def scoped_object_or_404(request, model_admin: admin.ModelAdmin, object_id: str) -> models.Model:
    """The object ``object_id`` of ``model_admin``'s model if the request's user may see it, else Http404.

    For custom admin views (``get_urls``): another app's object looks absent, like on every other page.
    """
    obj = model_admin.get_object(request, unquote(object_id))
    if obj is None:
        raise Http404(f"No {model_admin.opts.verbose_name} '{object_id}'.")
    return obj


class _ScopedChoices:
    """The model-choice scoping shared by scoped pages and their inlines."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None:
            scope_choice_field(field, admin_scope(request))
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None:
            scope_choice_field(field, admin_scope(request))
        return field


class TenantScopedAdmin(_ScopedChoices):
    """The base of every admin of a tenant model: set ``app_path`` (see the module's docstring).

    ``superuser_only_fields`` are shown read-only to anyone but a superuser (an app's own quota caps).
    """

    app_path: str = ""
    superuser_only_fields: tuple[str, ...] = ()

    def get_queryset(self, request):
        return admin_scope(request).filter(super().get_queryset(request), self.app_path)

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        return admin_scope(request).filter(queryset, self.app_path), may_have_duplicates

    def get_form(self, request, obj=None, **kwargs):
        return scoped_form_class(super().get_form(request, obj, **kwargs), request)

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        if self.superuser_only_fields and not admin_scope(request).everything:
            readonly += tuple(name for name in self.superuser_only_fields if name not in readonly)
        return readonly

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if admin_scope(request).everything:
            return filters
        return [_scoped_list_filter(self.model, entry) for entry in filters]

    def save_model(self, request, obj, form, change):
        scope = admin_scope(request)
        direct = "__" not in self.app_path and self.app_path != "pk"
        if not change and scope.is_bound and direct and getattr(obj, f"{self.app_path}_id", None) is None:
            setattr(obj, f"{self.app_path}_id", scope.app_id)
        super().save_model(request, obj, form, change)

    def scoped_object_or_404(self, request, object_id: str) -> models.Model:
        return scoped_object_or_404(request, self, object_id)

    # Django answers a missing object with a redirect to the index (change, history) or with 403 before looking
    # (delete, when deleting is not allowed): for a scoped user another app's object is a 404 on all three.
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        self._visible_or_404(request, object_id)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._visible_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self._visible_or_404(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def _visible_or_404(self, request, object_id) -> None:
        if object_id is not None and not admin_scope(request).everything:
            scoped_object_or_404(request, self, object_id)


class TenantScopedInline(_ScopedChoices):
    """The base of every inline whose model belongs to an app: its rows and its dropdowns are scoped."""

    def get_queryset(self, request):
        return admin_scope(request).filter(super().get_queryset(request), tenant_path(self.model))

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = scoped_form_class(formset.form, request)
        scope = admin_scope(request)
        if scope.everything:
            return formset

        def add_fields(self, form, index):
            # The formset adds its hidden row-id choice (of every row of the model) after the form is built.
            formset_class.add_fields(self, form, index)
            scope_choice_field(form.fields[self._pk_field.name], scope)

        formset_class = formset
        return type(formset)(formset.__name__, (formset,), {"add_fields": add_fields})


class GlobalCatalogAdmin:
    """Rows shared by every app: readable with Django's view permission, written by superusers only."""

    def has_add_permission(self, request, *args) -> bool:
        return request.user.is_superuser and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)


class SuperuserOnlyAdmin:
    """Pages only superusers see at all (users, groups): whoever edits users can make anyone a superuser."""

    def has_module_permission(self, request) -> bool:
        return request.user.is_superuser and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args) -> bool:
        return request.user.is_superuser and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)


def _scoped_list_filter(model: type[models.Model], entry):
    """A related-field filter listing only the related rows the scoped changelist holds."""
    if isinstance(entry, str):
        name, filter_class = entry, None
    elif isinstance(entry, tuple | list) and len(entry) == 2 and isinstance(entry[0], str):
        name, filter_class = entry
        if filter_class is not admin.RelatedFieldListFilter:
            return entry
    else:
        return entry
    try:
        field = get_fields_from_path(model, name)[-1]
    except FieldDoesNotExist:
        return entry
    if field.is_relation and field.related_model is not None and tenant_path(field.related_model) is not None:
        return (name, admin.RelatedOnlyFieldListFilter)
    return entry if filter_class is None else (name, filter_class)
