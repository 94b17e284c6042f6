"""The version history on the character page: who published what and how, the diff between any two versions,
"Publish this version again" (POST only, CSRF, 404 for another character's version), the JSON export and the
"Try it" link."""

import json

import pytest
from django.contrib.admin.utils import quote
from django.test import Client
from django.urls import reverse

from apps.characters.admin.diff import content_diff
from apps.characters.content import content_validate
from apps.characters.models import CharacterVersion
from apps.characters.tests.admin_forms import change_url
from apps.characters.tests.factories import character_publish

LONG = "A long bio. " * 20


@pytest.fixture
def luna(owner, admin_user):
    """Two versions: v1 from the API, v2 from the admin with several kinds of change."""
    app = owner.api_key.app
    v1 = character_publish(
        app,
        slug="luna",
        greeting="hi",
        forbidden_style=["emoji"],
        profile={"visible_bio": "short", "city": "Oslo"},
        behavioral_thresholds={"daily_image_cap": 3, "selfie_comfort": 0.5},
    )
    character = v1.character
    character.draft = {
        **character.draft,
        "greeting": "hello",
        "alternate_greetings": ["hey"],
        "profile": {"visible_bio": LONG, "occupation": "astronomer"},
        "behavioral_thresholds": {"daily_image_cap": 5, "selfie_comfort": 0.5},
    }
    del character.draft["forbidden_style"]
    from apps.characters import services

    services.character_draft_publish(character=character, published_by=admin_user)
    character.refresh_from_db()
    return character


def _versions(character) -> dict[int, CharacterVersion]:
    return {version.version_number: version for version in CharacterVersion.objects.filter(character=character)}


def test_the_history_lists_number_who_via_when_and_hash(admin_client, luna, owner, admin_user):
    html = admin_client.get(change_url(luna)).content.decode()
    versions = _versions(luna)
    assert '<tr class="version-row" id="version-2">' in html and '<tr class="version-row" id="version-1">' in html
    assert f"<td>{admin_user.username}</td>" in html and "<td>admin</td>" in html
    assert f"<td>api:{owner.api_key.prefix}</td>" not in html  # v1 came from the test factory, not the API
    assert versions[2].content_hash in html and versions[1].content_hash[:12] in html
    assert html.count("Publish this version again") == 1  # not offered for the current version


def test_an_api_publish_records_the_key(api, owner):
    created = api.post("/v1/characters", {"slug": "luna", "display_name": "Luna"}, format="json")
    patched = api.patch("/v1/characters/luna", {"greeting": "hi"}, format="json")
    assert (created.status_code, patched.status_code) == (201, 200)
    versions = CharacterVersion.objects.filter(character__slug="luna").order_by("version_number")
    assert [(v.published_via, v.published_by) for v in versions] == [(f"api:{owner.api_key.prefix}", None)] * 2


def test_the_diff_shows_each_change_per_field_and_per_key(admin_client, luna):
    versions = _versions(luna)
    url = reverse("admin:characters_character_diff", args=[quote(luna.pk)])  # as the page links it

    response = admin_client.get(url, {"a": versions[2].pk, "b": versions[1].pk})  # either order: old -> new

    assert response.status_code == 200
    changes = {(change.path, change.kind) for change in response.context["changes"]}
    assert changes == {
        ("alternate_greetings", "added"),
        ("behavioral_thresholds.daily_image_cap", "changed"),
        ("forbidden_style", "removed"),
        ("greeting", "changed"),
        ("profile.city", "removed"),
        ("profile.occupation", "added"),
        ("profile.visible_bio", "changed"),
    }
    html = response.content.decode()
    assert '<tr class="diff-changed" data-path="greeting">' in html
    assert '<td class="diff-before">hi</td>' in html and '<td class="diff-after">hello</td>' in html
    assert f'<pre class="diff-after">{LONG}</pre>' in html  # long text before/after as blocks
    assert "behavioral_thresholds.selfie_comfort" not in html  # unchanged keys are not listed


def test_the_diff_of_another_characters_version_is_404(admin_client, luna, owner):
    stranger = character_publish(owner.api_key.app, slug="sol").version
    url = reverse("admin:characters_character_diff", args=[quote(luna.pk)])
    assert admin_client.get(url, {"a": stranger.pk, "b": _versions(luna)[1].pk}).status_code == 404


def test_content_diff_is_a_pure_function():
    old = {"a": 1, "profile": {"x": 1, "y": 2}, "list": [1], "behavioral_thresholds": "text"}
    new = {"a": 1, "profile": {"x": 2}, "list": [1, 2], "behavioral_thresholds": {"k": 1}}
    assert [(c.path, c.kind, c.before_text, c.after_text) for c in content_diff(old, new)] == [
        ("behavioral_thresholds", "changed", "text", '{\n  "k": 1\n}'),
        ("list", "changed", "[\n  1\n]", "[\n  1,\n  2\n]"),
        ("profile.x", "changed", "1", "2"),
        ("profile.y", "removed", "2", ""),
    ]


def test_publish_this_version_again_makes_it_the_next_version(admin_client, luna, admin_user):
    versions = _versions(luna)
    url = reverse("admin:characters_character_republish", args=[quote(luna.pk), versions[1].pk])

    response = admin_client.post(url, follow=True)

    assert response.redirect_chain[-1][0] == change_url(luna)
    assert "Published that version's content again as version 3." in [str(m) for m in response.context["messages"]]
    luna.refresh_from_db()
    assert luna.current_version.version_number == 3
    assert luna.current_version.content == versions[1].content == luna.draft
    assert (luna.current_version.published_by, luna.current_version.published_via) == (admin_user, "admin")
    assert luna.readiness_score == 15  # the stored readiness follows the republished content


def test_republish_is_post_only_with_csrf_and_404_for_another_characters_version(admin_client, admin_user, luna, owner):
    versions = _versions(luna)
    url = reverse("admin:characters_character_republish", args=[luna.pk, versions[1].pk])
    assert admin_client.get(url).status_code == 405

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)
    assert strict.post(url).status_code == 403

    stranger = character_publish(owner.api_key.app, slug="sol").version
    other_url = reverse("admin:characters_character_republish", args=[quote(luna.pk), quote(stranger.pk)])
    assert admin_client.post(other_url).status_code == 404
    assert CharacterVersion.objects.filter(character=luna).count() == 2  # nothing was published


def test_republishing_the_current_version_changes_nothing(admin_client, luna):
    url = reverse("admin:characters_character_republish", args=[luna.pk, _versions(luna)[2].pk])
    response = admin_client.post(url, follow=True)
    assert "That is the current content already: no new version." in [str(m) for m in response.context["messages"]]
    assert CharacterVersion.objects.filter(character=luna).count() == 2


def test_export_downloads_the_body_post_v1_characters_accepts(admin_client, luna, owner):
    sol = character_publish(owner.api_key.app, slug="sol", greeting="yo").character
    changelist = reverse("admin:characters_character_changelist")

    one = admin_client.post(changelist, {"action": "export_json", "_selected_action": [luna.pk]})
    both = admin_client.post(changelist, {"action": "export_json", "_selected_action": [luna.pk, sol.pk]})
    button = admin_client.get(reverse("admin:characters_character_export", args=[quote(luna.pk)]))

    assert (
        one["Content-Disposition"] == 'attachment; filename="luna.json"' and one["Content-Type"] == "application/json"
    )
    assert json.loads(one.content) == json.loads(button.content) == luna.current_version.content
    exported = json.loads(both.content)
    assert [body["slug"] for body in exported] == ["luna", "sol"]
    assert all(content_validate(body) == body for body in exported)  # what the API accepts, as it is
    assert (
        f'href="{reverse("admin:characters_character_export", args=[quote(luna.pk)])}"'
        in admin_client.get(change_url(luna)).content.decode()
    )


def test_export_of_a_never_published_character_is_its_draft(admin_client, owner):
    from apps.characters import services

    draft = services.character_draft_save(app=owner.api_key.app, data={"slug": "nova", "display_name": "Nova"})
    body = json.loads(admin_client.get(reverse("admin:characters_character_export", args=[quote(draft.pk)])).content)
    assert body == {"slug": "nova", "display_name": "Nova", "locale": "en-US"}


def test_the_character_page_links_to_try_it(admin_client, luna):
    html = admin_client.get(change_url(luna)).content.decode()
    url = reverse("admin:character_try", args=[luna.pk])
    assert f'<a href="{url}" class="character-try">Try it</a>' in html
    assert admin_client.get(url).status_code == 200  # the page the link opens
