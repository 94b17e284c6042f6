"""Admin: pages render; a state added gets its default transitions; a save that breaks the scenario rules is
rolled back with its problems shown; an app's staff see their app's players only."""

import json

from django.contrib.admin.utils import quote
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from apps.accounts import services as accounts_services
from apps.npcs import services
from apps.npcs.models import NPC, Machine, State, Transition
from apps.npcs.tests.test_services import _body


def _machine_post(machine: Machine, **changes) -> dict:
    """The machine's change form as the admin would post it back, with ``new_state`` appended if given."""
    data = {
        "npc": machine.npc_id, "key": machine.key, "name": machine.name, "description": machine.description,
        "objective": machine.objective, "scoring_mode": machine.scoring_mode, "position": machine.position,
    }  # fmt: skip
    for flag in ("is_entry", "is_published"):
        if changes.get(flag, getattr(machine, flag)):
            data[flag] = "on"
    states = list(machine.states.order_by("position"))
    new_state = changes.get("new_state")
    rows = [
        {"id": s.id, "machine": machine.id, "position": s.position, "key": s.key, "name": s.name,
         "terminal": s.terminal, "redirect_limit": s.redirect_limit, **({"is_initial": "on"} if s.is_initial else {})}
        for s in states
    ]  # fmt: skip
    if new_state:
        rows.append({"machine": machine.id, "position": len(states), "redirect_limit": 3, **new_state})
    for prefix, items in (("states", rows), ("transitions", []), ("links_out", []), ("variables", [])):
        initial = len(states) if prefix == "states" else 0
        data |= {f"{prefix}-TOTAL_FORMS": len(items), f"{prefix}-INITIAL_FORMS": initial, f"{prefix}-MIN_NUM_FORMS": 0,
                 f"{prefix}-MAX_NUM_FORMS": 1000}  # fmt: skip
        for index, item in enumerate(items):
            data |= {f"{prefix}-{index}-{name}": value for name, value in item.items()}
    # The transitions inline posts its existing rows unchanged.
    transitions = list(machine.transitions.order_by("priority", "position", "created_at"))
    data |= {"transitions-TOTAL_FORMS": len(transitions), "transitions-INITIAL_FORMS": len(transitions)}
    for index, t in enumerate(transitions):
        data |= {
            f"transitions-{index}-id": t.id, f"transitions-{index}-machine": machine.id,
            f"transitions-{index}-priority": t.priority, f"transitions-{index}-from_state": t.from_state_id,
            f"transitions-{index}-to_state": t.to_state_id, f"transitions-{index}-decision_type": t.decision_type,
            f"transitions-{index}-score_delta": t.score_delta, f"transitions-{index}-condition": t.condition,
            f"transitions-{index}-matchers": json.dumps(t.matchers),
        }  # fmt: skip
    return data


def test_pages_render(admin_client, owner):
    npc = services.npc_save(app=owner.api_key.app, body=_body())
    machine = Machine.objects.get(npc=npc, key="haggle")
    for url in (
        reverse("admin:npcs_npc_changelist"),
        reverse("admin:npcs_npc_change", args=[quote(npc.id)]),
        reverse("admin:npcs_machine_change", args=[quote(machine.id)]),
        reverse("admin:npcs_playthrough_changelist"),
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
    assert "Offer" in admin_client.get(reverse("admin:npcs_machine_change", args=[quote(machine.id)])).content.decode()


def test_a_state_added_in_the_admin_gets_default_transitions(admin_client, owner):
    npc = services.npc_save(app=owner.api_key.app, body=_body())
    machine = Machine.objects.get(npc=npc, key="haggle")
    # A draft: a state that nothing leads to yet is fine until the machine is published again.
    machine = services.machine_publish(machine_id=machine.id, published=False)
    url = reverse("admin:npcs_machine_change", args=[quote(machine.id)])
    response = admin_client.post(url, _machine_post(machine, new_state={"key": "bargain"}))
    assert response.status_code == 302, response.content.decode()[:3000]
    state = State.objects.get(machine=machine, key="bargain")
    assert {t.decision_type: t.to_state.key for t in Transition.objects.filter(from_state=state)} == {
        "pass": "deal", "reject": "gone", "kick_out": "bargain"
    }  # fmt: skip


def test_a_save_that_breaks_the_rules_is_rolled_back(admin_client, owner):
    npc = services.npc_save(app=owner.api_key.app, body=_body())
    machine = Machine.objects.get(npc=npc, key="haggle")
    url = reverse("admin:npcs_machine_change", args=[quote(machine.id)])
    response = admin_client.post(url, _machine_post(machine, new_state={"key": "island"}), follow=True)
    page = response.content.decode()
    assert "cannot be reached from an initial state" in page and "Nothing was saved." in page
    assert not State.objects.filter(key="island").exists()
    assert NPC.objects.get(pk=npc.id).machines.count() == 2


def _staff_client(django_user_model, client_class, app, username: str):
    user = django_user_model.objects.create_user(username=username, password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="npcs"))
    accounts_services.app_staff_bind(user=user, app=app)
    client = client_class()
    client.force_login(user)
    return client


def test_staff_see_their_apps_players_and_not_others_players_in_their_public_npc(django_user_model, owner, other):
    mine, theirs = owner.api_key.app, other.api_key.app
    public = services.npc_save(app=mine, body=_body(is_public=True))
    own_player = services.playthrough_start(app=mine, npc_id=public.id, player_session_id="p1")
    their_player = services.playthrough_start(app=theirs, npc_id=public.id, player_session_id="p1")
    url = reverse("admin:npcs_playthrough_changelist")

    for app, name, seen, unseen in ((mine, "a", own_player, their_player), (theirs, "b", their_player, own_player)):
        staff = _staff_client(django_user_model, Client, app, f"staff-{name}")
        listed = set(staff.get(url).context["cl"].queryset.values_list("pk", flat=True))
        assert listed == {seen.pk}
        change = reverse("admin:npcs_playthrough_change", args=[quote(unseen.pk)])
        assert staff.get(change).status_code == 404
