"""The tenant matrix of the admin: a staff user bound to app B, with every model permission, never meets app A.

Walks ``admin.site._registry``, so an admin registered later is covered without touching this file: every admin
must say which kind of rows it shows (``apps/core/admin_scoping.py``), a tenant model's admin must be scoped, and
the world below must hold a row of every registered tenant model in both apps (the test says which is missing).
For each scoped admin: A's rows never appear in B's staff's changelist, A's change, history and delete pages
and every custom object view (``get_urls``) are 404, the autocomplete never lists A's rows, the add form's and
B's change form's dropdowns (inlines included) never offer them; B's rows are there and editable; a superuser
sees both apps; a staff user bound to no app sees no tenant rows at all.
"""

import datetime
import re

import pytest
from django.apps import apps as django_apps
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Permission
from django.forms import ModelChoiceField
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from apps.accounts import services as accounts_services
from apps.accounts.models import ApiKey, App, AppStaff, BudgetCounter, BudgetPolicy, UsageRecord
from apps.assets.models import GeneratedImage
from apps.assets.tests.factories import identity_asset_create
from apps.characters import services as characters_services
from apps.conversations.models import Event, ProactiveSend, Run
from apps.conversations.tests.factories import session_start
from apps.conversations.tests.npc_scenario import scenario_body
from apps.core.admin_scoping import (
    GlobalCatalogAdmin,
    SuperuserOnlyAdmin,
    TenantScopedAdmin,
    TenantScopedInline,
    tenant_path,
)
from apps.delivery.telegram.models import TelegramChannel, TelegramChat, TelegramDelivery
from apps.delivery.webhooks.models import WebhookDelivery, WebhookEndpoint
from apps.npcs import services as npc_services
from apps.npcs.models import NPC, MachineLink, Variable
from apps.personas.models import CharacterPersona, PersonaSession

KINDS = (TenantScopedAdmin, GlobalCatalogAdmin, SuperuserOnlyAdmin)
STANDARD_OBJECT_VIEWS = {"change", "history", "delete"}


def tenant_world(tag: str) -> App:
    """One app with a row of every tenant model the admin shows."""
    now = timezone.now()
    app = accounts_services.app_create(name=f"Tenant {tag}")
    accounts_services.api_key_create(app=app, name=f"key {tag}")
    UsageRecord.objects.create(app=app, resource_type="chat_turn", created_at=now, run_ref=f"run_{tag}")
    policy = BudgetPolicy.objects.create(app=app, limit_credits=10)
    BudgetCounter.objects.create(policy=policy, period_start=now.date())

    session = session_start(app, slug=f"luna-{tag}", display_name=f"Luna {tag}", greeting="hi")
    character = session.character
    CharacterPersona.objects.get_or_create(character=character, defaults={"spec": {"preset": "stoic_mentor"}})
    PersonaSession.objects.create(app=app, persona={}, config={}, state={})
    identity_asset_create(character)
    book = {"name": f"World {tag}", "entries": [{"keys": ["harbour"], "content": "The harbour."}]}
    shared = characters_services.lorebook_create(app=app, data=book).lorebook
    characters_services.character_lorebooks_set(app=app, slug=character.slug, lorebook_ids=[shared.id])
    characters_services.lorebook_own_put(app=app, slug=character.slug, data=book)
    GeneratedImage.objects.create(
        app=app, character=character, kind=GeneratedImage.Kind.choices[0][0], model="m", backend="builtin",
        prompt="p", file=f"x/{tag}.png", thumbnail=f"x/{tag}-t.png",
    )  # fmt: skip

    npc = npc_services.npc_save(app=app, body=scenario_body(name=f"Gatekeeper {tag}"))
    gate, vault = list(npc.machines.order_by("position"))
    if not MachineLink.objects.filter(npc=npc).exists():
        MachineLink.objects.create(npc=npc, from_machine=gate, to_machine=vault, condition_type="on_win")
    if not Variable.objects.filter(machine=gate).exists():
        Variable.objects.create(machine=gate, key="mood", extraction_prompt="How does the player feel?")
    npc_services.playthrough_start(app=app, npc_id=npc.pk, player_session_id=f"player-{tag}")

    run = Run.objects.create(session=session, trigger_cursor=1, available_at=now)
    assert Event.objects.filter(session=session).exists()
    ProactiveSend.objects.create(session=session, slot_at=now, sent_at=now, kind="checkin", run=run)

    channel = TelegramChannel.objects.create(
        app=app, bot_token="123:abc", token_hint="…abc", bot_id=abs(hash(tag)) % 10**9, bot_username=f"bot_{tag}",
        default_character=character, webhook_secret="s",
    )  # fmt: skip
    chat = TelegramChat.objects.create(channel=channel, telegram_user_id=1, chat_id=1, session=session)
    TelegramDelivery.objects.create(
        channel=channel, chat=chat, event_id=f"evt_{tag}", event_type="message.created", cursor=1, kind="text",
        next_attempt_at=now,
    )  # fmt: skip
    endpoint = WebhookEndpoint.objects.create(app=app, url=f"https://example.com/{tag}", secret="s")
    WebhookDelivery.objects.create(endpoint=endpoint, event_id=f"evt_{tag}", body={}, created_at=now)
    return app


def rows_of(model, app: App) -> list:
    return list(model._default_manager.filter(**{tenant_path(model): app.pk}).values_list("pk", flat=True))


def scoped_admins() -> list[tuple[type, admin.ModelAdmin]]:
    registry = admin.site._registry.items()
    return [(model, model_admin) for model, model_admin in registry if isinstance(model_admin, TenantScopedAdmin)]


def url(model, view: str, *args) -> str:
    # quoted as the admin's own links are: an unquoted "sess_23ab" would reach the view as "sess#ab"
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=[quote(a) for a in args])


def changelist_pks(client: Client, model) -> set:
    response = client.get(url(model, "changelist"))
    assert response.status_code == 200, (model, response.status_code)
    return {str(pk) for pk in response.context["cl"].queryset.values_list("pk", flat=True)}


@pytest.fixture
def tenants(db):
    return tenant_world("a"), tenant_world("b")


def _staff(django_user_model, username: str, app: App | None) -> Client:
    user = django_user_model.objects.create_user(username=username, password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.all())
    if app is not None:
        accounts_services.app_staff_bind(user=user, app=app)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff_b(tenants, django_user_model) -> Client:
    return _staff(django_user_model, "staff-b", tenants[1])


# --- every admin says what it shows ---------------------------------------------------------------------


def test_every_admin_declares_its_kind_and_tenant_models_are_scoped():
    for model, model_admin in admin.site._registry.items():
        kinds = [kind.__name__ for kind in KINDS if isinstance(model_admin, kind)]
        assert len(kinds) == 1, f"{type(model_admin).__name__} must derive from one of {[k.__name__ for k in KINDS]}"
        if tenant_path(model) is not None:
            assert kinds[0] in {"TenantScopedAdmin", "SuperuserOnlyAdmin"}, f"{model._meta.label} is a tenant model"
        if isinstance(model_admin, TenantScopedAdmin):
            *_, last = model_admin.app_path.split("__")
            target = model if model_admin.app_path == "pk" else None
            if target is None:
                model._default_manager.filter(**{model_admin.app_path: "app_x"}).query  # the lookup resolves  # noqa: B018
                path_model = model
                for step in model_admin.app_path.split("__"):
                    path_model = path_model._meta.get_field(step).related_model
                target = path_model
            assert target is App, f"{type(model_admin).__name__}.app_path must end at the app"
        for inline in model_admin.inlines:
            if tenant_path(inline.model) is not None:
                assert issubclass(inline, TenantScopedInline | SuperuserOnlyAdmin), f"{inline.__name__} is not scoped"


# --- the bound staff user of B --------------------------------------------------------------------------


def test_bound_staff_see_only_their_apps_rows_in_every_changelist(tenants, staff_b):
    a, b = tenants
    for model, _ in scoped_admins():
        mine, theirs = rows_of(model, b), rows_of(model, a)
        assert theirs and mine, f"add a row of {model._meta.label} to tenant_world()"
        seen = changelist_pks(staff_b, model)
        assert seen == {str(pk) for pk in mine}, model._meta.label


def test_another_apps_objects_are_404_on_every_object_page_and_custom_view(tenants, staff_b):
    a, b = tenants
    for model, model_admin in scoped_admins():
        theirs, mine = rows_of(model, a)[0], rows_of(model, b)[0]
        for view in STANDARD_OBJECT_VIEWS:
            assert staff_b.get(url(model, view, theirs)).status_code == 404, (model._meta.label, view)
            assert staff_b.post(url(model, view, theirs), {"post": "yes"}).status_code == 404, (model._meta.label, view)
        for view in ("change", "history"):
            assert staff_b.get(url(model, view, mine)).status_code == 200, (model._meta.label, view)
        for pattern in model_admin.get_urls():
            name = pattern.name or ""
            if "object_id" not in str(pattern.pattern) or not name or name.rsplit("_", 1)[-1] in STANDARD_OBJECT_VIEWS:
                continue
            try:
                custom = reverse(f"admin:{name}", kwargs={"object_id": quote(theirs)})
            except NoReverseMatch:
                continue
            assert staff_b.post(custom, {}).status_code == 404, name
            assert staff_b.get(custom).status_code in {404, 405}, name
    assert App.objects.filter(pk=a.pk).exists() and NPC.objects.filter(app=a).exists()  # nothing of A deleted


def _autocomplete_ids(client: Client, model, field_name: str) -> set[str] | None:
    query = {"app_label": model._meta.app_label, "model_name": model._meta.model_name, "field_name": field_name}
    response = client.get(reverse("admin:autocomplete"), query)
    if response.status_code != 200:
        return None  # the remote admin has no search fields, or the field is not a relation to a registered model
    return {row["id"] for row in response.json()["results"]}


def test_the_autocomplete_never_lists_another_apps_rows(tenants, staff_b):
    a, b = tenants
    checked = 0
    for model in admin.site._registry:
        for field in model._meta.get_fields():
            if not (field.is_relation and field.concrete and field.related_model in admin.site._registry):
                continue
            ids = _autocomplete_ids(staff_b, model, field.name)
            if ids is None or tenant_path(field.related_model) is None:
                continue
            checked += 1
            theirs = {str(pk) for pk in rows_of(field.related_model, a)}
            assert not ids & theirs, (model._meta.label, field.name)
            assert {str(pk) for pk in rows_of(field.related_model, b)} & ids, (model._meta.label, field.name)
    assert checked >= 5


def _assert_no_foreign_choices(response, theirs_by_model: dict, where: str) -> None:
    forms = [response.context["adminform"].form]
    forms += [f.form for formset in response.context["inline_admin_formsets"] for f in formset]
    forms += [formset.formset.empty_form for formset in response.context["inline_admin_formsets"]]
    for form in forms:
        for name, field in form.fields.items():
            if not isinstance(field, ModelChoiceField):
                continue
            offered = {str(pk) for pk in field.queryset.values_list("pk", flat=True)}
            theirs = theirs_by_model.get(field.queryset.model, set())
            assert not offered & theirs, (where, type(form).__name__, name)


def test_dropdowns_on_add_and_change_forms_never_offer_another_apps_rows(tenants, staff_b):
    a, b = tenants
    theirs_by_model = {
        model: {str(pk) for pk in rows_of(model, a)} for model in django_apps.get_models() if tenant_path(model)
    }
    # prefixed ids ("chr_...", "st_...") are unique strings: none of A's may appear anywhere in B's pages
    theirs_ids = {pk for pks in theirs_by_model.values() for pk in pks if not pk.isdigit()}
    assert len(theirs_ids) > 20
    for model, _ in scoped_admins():
        response = staff_b.get(url(model, "add"))
        if response.status_code == 200:
            _assert_no_foreign_choices(response, theirs_by_model, f"{model._meta.label} add")
            page = response.content.decode()
            named = {pk for pk in theirs_ids if pk in page or quote(pk) in page}
            assert not named, f"{model._meta.label} add page names {named}"
        else:
            assert response.status_code == 403, (model._meta.label, response.status_code)
        response = staff_b.get(url(model, "change", rows_of(model, b)[0]))
        _assert_no_foreign_choices(response, theirs_by_model, f"{model._meta.label} change")
        page = response.content.decode()
        named = {pk for pk in theirs_ids if pk in page or quote(pk) in page}
        assert not named, f"{model._meta.label} change page names {named}"


def test_changelist_filters_never_name_another_app(tenants, staff_b):
    a, _ = tenants
    for model, _ in scoped_admins():
        page = staff_b.get(url(model, "changelist")).content.decode()
        assert a.name not in page and a.pk not in page and quote(a.pk) not in page, model._meta.label


# --- editing as B ---------------------------------------------------------------------------------------


def test_bound_staff_edit_their_rows_and_new_rows_land_in_their_app(tenants, staff_b):
    a, b = tenants
    key = ApiKey.objects.filter(app=b).first()
    blank_dates = {"expires_at_0": "", "expires_at_1": "", "revoked_at_0": "", "revoked_at_1": ""}
    response = staff_b.post(url(ApiKey, "change", key.pk), {"name": "renamed by B", **blank_dates})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ApiKey.objects.get(pk=key.pk).name == "renamed by B"

    # a new NPC's app is fixed to B (hidden); a form naming A is refused and writes nothing
    character = session_start(b, slug="new-npc", display_name="New", greeting="hi").character
    form = staff_b.get(url(NPC, "add")).context["adminform"].form
    assert form.fields["app"].widget.is_hidden and form.initial["app"] == b.pk
    assert list(form.fields["app"].queryset) == [b]
    before = NPC.objects.count()
    response = staff_b.post(url(NPC, "add"), _npc_post(a.pk, character.pk))
    assert response.status_code == 200 and "app" in response.context["adminform"].form.errors
    assert NPC.objects.count() == before  # nothing written
    response = staff_b.post(url(NPC, "add"), _npc_post(b.pk, character.pk))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert NPC.objects.get(character=character).app_id == b.pk

    # a page whose app is read-only (webhook endpoints) puts the new row in B
    endpoint = {"url": "https://example.com/new", "event_types": "[]", "status": "active", "consecutive_failures": "0"}
    response = staff_b.post(url(WebhookEndpoint, "add"), endpoint)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert WebhookEndpoint.objects.get(url="https://example.com/new").app_id == b.pk


def _npc_post(app_id: str, character_id: str) -> dict:
    return {"app": app_id, "character": character_id, "machines-TOTAL_FORMS": "0", "machines-INITIAL_FORMS": "0"}


def test_a_foreign_choice_posted_by_hand_is_refused_and_nothing_is_written(tenants, staff_b):
    a, b = tenants
    character_a = NPC.objects.get(app=a).character
    persona = CharacterPersona.objects.filter(character__app=b).first()
    response = staff_b.post(url(CharacterPersona, "change", persona.pk), {"character": character_a.pk, "spec": "{}"})
    assert response.status_code == 200 and "character" in response.context["adminform"].form.errors
    assert CharacterPersona.objects.get(pk=persona.pk).character_id == persona.character_id


def test_bound_staff_cannot_reach_users_groups_or_change_the_catalog(tenants, staff_b):
    assert staff_b.get(reverse("admin:auth_user_changelist")).status_code == 403
    assert staff_b.get(reverse("admin:auth_group_changelist")).status_code == 403
    assert staff_b.get(reverse("admin:llm_llmmodel_changelist")).status_code == 200  # read-only view
    assert staff_b.get(reverse("admin:llm_llmmodel_add")).status_code == 403
    assert staff_b.get(reverse("admin:accounts_app_add")).status_code == 403
    # their own app's quotas are read-only to them
    _, b = tenants
    page = staff_b.get(url(App, "change", b.pk)).context
    assert "max_sessions" not in page["adminform"].form.fields and "name" not in page["adminform"].form.fields
    # nor do they see who else is bound to their app (only superusers bind staff)
    assert [formset.opts.model for formset in page["inline_admin_formsets"]] == [ApiKey]


# --- superusers and unbound staff -----------------------------------------------------------------------


def test_a_superuser_sees_both_apps(tenants, django_user_model):
    a, b = tenants
    root = django_user_model.objects.create_superuser(username="root", password="x")
    client = Client()
    client.force_login(root)
    for model, _ in scoped_admins():
        seen = changelist_pks(client, model)
        assert {str(pk) for pk in rows_of(model, a) + rows_of(model, b)} <= seen, model._meta.label
        assert client.get(url(model, "change", rows_of(model, a)[0])).status_code == 200


def test_unbound_staff_see_no_tenant_rows(tenants, django_user_model):
    client = _staff(django_user_model, "unbound", None)
    for model, _ in scoped_admins():
        assert changelist_pks(client, model) == set(), model._meta.label
    theirs = rows_of(NPC, tenants[0])[0]
    assert client.get(url(NPC, "change", theirs)).status_code == 404


def test_binding_a_user_in_the_user_admin_goes_through_the_service(tenants, django_user_model):
    a, b = tenants
    root = django_user_model.objects.create_superuser(username="root", password="x")
    staff = django_user_model.objects.create_user(username="writer", password="x", is_staff=True)
    client = Client()
    client.force_login(root)
    page = client.get(reverse("admin:auth_user_change", args=[quote(staff.pk)]))
    assert page.status_code == 200
    data = {key: value for key, value in _form_data(page).items() if not key.startswith("app_staff-")}
    data |= {"app_staff-TOTAL_FORMS": "1", "app_staff-INITIAL_FORMS": "0", "app_staff-0-app": b.pk}
    response = client.post(reverse("admin:auth_user_change", args=[quote(staff.pk)]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert AppStaff.objects.get(user=staff).app_id == b.pk


def _form_data(response) -> dict:
    """The initial values of the change form and its inline management forms, as the browser would post them."""
    data = {}
    form = response.context["adminform"].form
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None or name == "password":
            continue
        if isinstance(value, list | tuple):
            data[name] = [getattr(v, "pk", v) for v in value]
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, datetime.datetime):
            data[f"{name}_0"], data[f"{name}_1"] = value.date().isoformat(), value.time().isoformat()
        else:
            data[name] = value
    for formset in response.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management.initial.get(name, 0)
    return data


# --- branding and names ---------------------------------------------------------------------------------


def test_the_admin_says_dramatis(admin_client):
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "Dramatis" in re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S).group(1)
    assert "<title>Dramatis administration" in page or "| Dramatis administration</title>" in page
    assert "Django administration" not in page and "Django site admin" not in page


def _badly_pluralised(singular: str, plural: str) -> bool:
    last_word, plural_last = singular.split()[-1].lower(), plural.split()[-1].lower()
    needs_es_or_ies = last_word.endswith(("s", "x", "ch", "sh")) or re.search(r"[^aeiou]y$", last_word)
    naive = bool(needs_es_or_ies) and plural_last == last_word + "s"
    consonant_ys = re.search(r"[^aeiou]ys$", plural_last) is not None
    return naive or consonant_ys


def test_plural_names_are_english_everywhere():
    assert _badly_pluralised("webhook delivery", "webhook deliverys")
    assert _badly_pluralised("budget policy", "budget policys") and not _badly_pluralised("API key", "API keys")
    names = []
    for model, model_admin in admin.site._registry.items():
        names.append((model._meta.verbose_name, model._meta.verbose_name_plural))
        for inline in model_admin.inlines:
            meta = inline.model._meta
            names.append(
                (inline.verbose_name or meta.verbose_name, inline.verbose_name_plural or meta.verbose_name_plural)
            )
    wrong = [(str(s), str(p)) for s, p in names if _badly_pluralised(str(s), str(p))]
    assert wrong == []
    assert TelegramDelivery._meta.verbose_name_plural == "Telegram deliveries"
    assert WebhookDelivery._meta.verbose_name_plural == "webhook deliveries"
    assert BudgetPolicy._meta.verbose_name_plural == "budget policies"


def test_the_index_lists_english_plurals(admin_client):
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "Telegram deliveries" in page and "Webhook deliveries" in page
    assert "deliverys" not in page.lower()
