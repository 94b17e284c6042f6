"""Publish and unpublish a machine: the service (the checks a published machine must pass), the buttons on the
machine's page and the actions on the machine list. (The SDK side is in apps/api/npc/tests/test_publish.py.)"""

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from apps.npcs import services
from apps.npcs.errors import MachineNotFound, ScenarioInvalid
from apps.npcs.models import Machine, State
from apps.npcs.tests.test_services import _body

pytestmark = pytest.mark.django_db


def _draft_body(*, broken: bool = False) -> dict:
    """The haggle NPC with its first machine a draft; ``broken`` adds a state nothing leads to."""
    body = _body()
    body["machines"][0]["is_published"] = False
    if broken:
        body["machines"][0]["states"].append({"key": "island", "name": "Island"})
        body["machines"][0]["transitions"].append(
            {"from_state_key": "island", "to_state_key": "deal", "decision_type": "pass"}
        )
    return body


@pytest.fixture
def draft(owner) -> Machine:
    npc = services.npc_save(app=owner.api_key.app, body=_draft_body())
    return Machine.objects.get(npc=npc, key="haggle")


@pytest.fixture
def broken(owner) -> Machine:
    npc = services.npc_save(app=owner.api_key.app, body=_draft_body(broken=True))
    return Machine.objects.get(npc=npc, key="haggle")


def test_publishing_a_sound_machine_and_taking_it_back(draft):
    assert services.machine_publish(machine_id=draft.id, published=True).is_published is True
    assert Machine.objects.get(pk=draft.pk).is_published is True
    assert services.machine_publish(machine_id=draft.id, published=False).is_published is False
    assert Machine.objects.get(pk=draft.pk).is_published is False


def test_publishing_a_machine_that_breaks_the_graph_rules_is_refused_and_changes_nothing(broken):
    with pytest.raises(ScenarioInvalid) as refused:
        services.machine_publish(machine_id=broken.id, published=True)

    assert refused.value.fields == {
        "machines[0].states[4]": ["State 'island' cannot be reached from an initial state."]
    }
    assert Machine.objects.get(pk=broken.pk).is_published is False


def test_another_apps_machine_is_not_found_when_an_app_is_given(draft, other):
    with pytest.raises(MachineNotFound):
        services.machine_publish(app=other.api_key.app, machine_id=draft.id, published=True)
    with pytest.raises(MachineNotFound):
        services.machine_publish(machine_id="mach_missing", published=True)
    assert Machine.objects.get(pk=draft.pk).is_published is False
    assert services.machine_publish(app=draft.npc.app, machine_id=draft.id, published=True).is_published


def test_publish_is_one_update_after_the_locked_read_and_the_checks(draft, django_assert_num_queries):
    # The savepoint pair (the test's transaction is outside), the locked read with the NPC and its persona,
    # the update, and the checks' read of the scenario set: machines, states, transitions, variables, links.
    with django_assert_num_queries(9):
        services.machine_publish(machine_id=draft.id, published=True)
    # Unpublishing checks nothing.
    with django_assert_num_queries(4):
        services.machine_publish(machine_id=draft.id, published=False)


# -- the admin --------------------------------------------------------------------------------------------


def _publish_url(machine: Machine) -> str:
    return reverse("admin:npcs_machine_publish", args=[quote(machine.pk)])


def test_the_publish_button_publishes_after_the_checks(admin_client, draft):
    page = admin_client.get(reverse("admin:npcs_machine_change", args=[quote(draft.pk)])).content.decode()
    assert 'id="npc-publish"' in page and "draft" in page

    response = admin_client.post(_publish_url(draft), {"published": "1"}, follow=True)

    assert response.redirect_chain == [(reverse("admin:npcs_machine_change", args=[quote(draft.pk)]), 302)]
    assert "Machine &#x27;haggle&#x27; published: players can start it." in response.content.decode()
    assert Machine.objects.get(pk=draft.pk).is_published is True
    admin_client.post(_publish_url(draft), {"published": "0"})
    assert Machine.objects.get(pk=draft.pk).is_published is False


def test_the_publish_button_shows_the_problems_and_leaves_a_draft(admin_client, broken):
    page = admin_client.post(_publish_url(broken), {"published": "1"}, follow=True).content.decode()

    assert "State &#x27;island&#x27; cannot be reached from an initial state." in page
    assert "Machine &#x27;haggle&#x27; was not published." in page
    assert Machine.objects.get(pk=broken.pk).is_published is False
    assert admin_client.get(_publish_url(broken)).status_code == 405


def test_the_list_actions_publish_what_passes_and_report_what_does_not(admin_client, owner, draft, broken):
    changelist = reverse("admin:npcs_machine_changelist")
    response = admin_client.post(
        changelist, {"action": "publish_machines", "_selected_action": [draft.pk, broken.pk]}, follow=True
    )

    page = response.content.decode()
    assert (
        "Machine &#x27;haggle&#x27; published: players can start it." in page
        and "Machine &#x27;haggle&#x27; was not published." in page
    )
    assert Machine.objects.get(pk=draft.pk).is_published is True
    assert Machine.objects.get(pk=broken.pk).is_published is False

    admin_client.post(changelist, {"action": "unpublish_machines", "_selected_action": [draft.pk]})
    assert Machine.objects.get(pk=draft.pk).is_published is False


def test_the_change_form_does_not_publish_by_its_checkbox(admin_client, draft):
    from apps.npcs.tests.test_admin import _machine_post

    response = admin_client.post(
        reverse("admin:npcs_machine_change", args=[quote(draft.pk)]), _machine_post(draft, is_published=True)
    )

    assert response.status_code == 302
    assert Machine.objects.get(pk=draft.pk).is_published is False  # read-only there: the button is the way
    assert State.objects.filter(machine=draft).count() == 4
