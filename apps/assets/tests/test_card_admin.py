"""The admin's Character Card pages: the "Import card" button and form (scoped like the rest of the admin) and
the "Export card" actions, through the Django test client."""

import json

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from apps.accounts import services as accounts_services
from apps.assets.tests.cards_for_tests import encoded, png_card, v2_card
from apps.characters.models import Character
from apps.characters.tests.factories import character_publish

IMPORT = "admin:characters_character_import_card"
CHANGELIST = "admin:characters_character_changelist"
pytestmark = pytest.mark.django_db


def _card_file(card=None, name="mira.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_card({"chara": encoded(card or v2_card())}), content_type="image/png")


def test_the_list_has_the_button_and_a_superuser_imports_into_the_app_they_pick(admin_client, owner):
    app = owner.api_key.app
    listing = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert f'href="{reverse(IMPORT)}"' in listing and "Import card" in listing

    assert admin_client.get(reverse(IMPORT)).status_code == 200
    response = admin_client.post(reverse(IMPORT), {"app": app.pk, "file": _card_file()})

    character = Character.objects.get(app=app, slug="mira")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:characters_character_change", args=[quote(character.pk)])
    assert character.current_version.content["lorebooks"][0]["name"] == "Island lore"
    assert character.current_version.published_by is not None
    assert character.visual_assets.get().category == "identity"


def test_a_bad_card_shows_its_code_on_the_form_and_writes_nothing(admin_client, owner):
    bad = SimpleUploadedFile("bad.png", png_card({"chara": b"not*base64!"}), content_type="image/png")
    response = admin_client.post(reverse(IMPORT), {"app": owner.api_key.app.pk, "file": bad})
    assert response.status_code == 200
    assert "card_invalid_base64" in str(response.context["form"].errors["file"])
    assert not Character.objects.exists()


def _staff(django_user_model, app=None):
    user = django_user_model.objects.create_user("writer", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["add_character", "view_character"]))
    if app is not None:
        accounts_services.app_staff_bind(user=user, app=app)
    client = Client()
    client.force_login(user)
    return client


def test_a_bound_staff_user_imports_into_their_app_only(django_user_model, owner, other):
    client = _staff(django_user_model, app=owner.api_key.app)
    form = client.get(reverse(IMPORT))
    assert "app" not in form.context["form"].fields  # never asked, never another app
    client.post(reverse(IMPORT), {"app": other.api_key.app.pk, "file": _card_file()})
    assert list(Character.objects.values_list("app_id", "slug")) == [(owner.api_key.app.pk, "mira")]


def test_staff_bound_to_no_app_cannot_import(django_user_model):
    assert _staff(django_user_model).get(reverse(IMPORT)).status_code == 403


def test_the_export_actions_download_cards_of_the_selected_characters(admin_client, owner):
    app = owner.api_key.app
    luna = character_publish(app, slug="luna", display_name="Luna").character
    nova = character_publish(app, slug="nova", display_name="Nova").character
    changelist = reverse(CHANGELIST)

    one = admin_client.post(changelist, {"action": "export_card_json", "_selected_action": [luna.pk]})
    assert one["Content-Disposition"] == 'attachment; filename="luna.json"'
    assert json.loads(one.content)["data"]["name"] == "Luna"

    png = admin_client.post(changelist, {"action": "export_card_png", "_selected_action": [luna.pk]})
    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")

    both = admin_client.post(changelist, {"action": "export_card_charx", "_selected_action": [luna.pk, nova.pk]})
    assert both["Content-Type"] == "application/zip"
    assert both["Content-Disposition"] == 'attachment; filename="character-cards-charx.zip"'
