"""Lorebooks: a character's own book (``/v1/characters/{slug}/lorebook``), which shared books it uses
(``/v1/characters/{slug}/lorebooks``), and the app's shared books (``/v1/lorebooks``). Bodies are Character Card
V2 ``character_book`` objects; every write publishes the next version of each character that uses the book.

Writes are idempotent without an Idempotency-Key: a PUT with the same body keeps the same version, and a
retried POST of a shared book is refused with ``lorebook_name_taken`` instead of making a second book.
"""

from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from apps.api.native import presenters
from apps.api.native.envelope import action, envelope
from apps.api.native.lorebook_serializers import (
    CharacterBookInput,
    CharacterLorebookOutput,
    LorebookAttachInput,
    SharedBookInput,
    SharedLorebookDeletedOutput,
    SharedLorebookListOutput,
    SharedLorebookOutput,
)
from apps.api.native.serializers import AUTH_ERRORS, BODY_ERRORS, ErrorSerializer, enveloped
from apps.api.native.views.characters import _via
from apps.characters import selectors, services

_BOOK_EXAMPLE = {
    "name": "Harbour town",
    "scan_depth": 4,
    "token_budget": 600,
    "recursive_scanning": True,
    "entries": [
        {
            "keys": ["lighthouse", "/keeper'?s?/i"],
            "content": "The lighthouse keeper, Ines, has not spoken to anyone since the flood.",
            "insertion_order": 100,
            "position": "before_char",
            "extensions": {"sticky": 2},
        },
        {
            "keys": ["mayor"],
            "secondary_keys": ["flood", "debt"],
            "selective": True,
            "selective_logic": "and_any",
            "content": "Everyone blames the mayor for the flood and for the debts that followed.",
        },
    ],
}


def _character_answer(character, saved: services.LorebookSaved | None = None) -> dict:
    """The character's books; after a write, from the rows it wrote (only the attached books are read)."""
    created = any(result.created_version for result in saved.published.values()) if saved is not None else None
    own, entries = (saved.lorebook, saved.entries) if saved is not None and saved.lorebook is not None else (None, None)
    if own is None:
        own = selectors.lorebook_own_get(character=character)
    return presenters.lorebook_character_data(
        character,
        own,
        list(selectors.lorebook_attached_list(character=character)),
        own_entries=entries,
        created_version=created,
    )


class CharacterLorebookApi(APIView):
    example_bodies = {"PUT": _BOOK_EXAMPLE}

    @extend_schema(
        operation_id="character_lorebook_get",
        responses={200: enveloped("CharacterLorebookEnvelope", CharacterLorebookOutput), **AUTH_ERRORS},
        description="The character's own lorebook as a Character Card V2 `character_book` object (entries with "
        "their ids), and the shared books attached to it (`attached`, read-only here).",
    )
    def get(self, request, slug: str):
        data = _character_answer(selectors.character_get(app=request.user, slug=slug))
        return envelope(data, [action(f"PUT /v1/characters/{slug}/lorebook", "Replace the book")])

    @extend_schema(
        operation_id="character_lorebook_put",
        request=CharacterBookInput,
        responses={
            200: enveloped("CharacterLorebookPutEnvelope", CharacterLorebookOutput),
            **BODY_ERRORS,
            **AUTH_ERRORS,
        },
        description="Replace the character's own lorebook whole and publish the character's next version "
        "(`version_number`; the same body again keeps the version, `created_version: false`). A character never "
        "published keeps the book until its first publish. Errors name the bad field by its path, such as "
        "`entries[2].keys[0]`; nothing is written then.",
    )
    def put(self, request, slug: str):
        saved = services.lorebook_own_put(app=request.user, slug=slug, data=request.data, published_via=_via(request))
        data = _character_answer(saved.characters[0], saved)
        return envelope(
            data,
            [
                action(f"GET /v1/characters/{slug}/lorebook", "Read the book back"),
                action(f"PUT /v1/characters/{slug}/lorebooks", "Attach shared books"),
            ],
        )


class CharacterLorebooksApi(APIView):
    example_bodies = {"PUT": {"lorebook_ids": ["lb_0123456789abcdef"]}}

    @extend_schema(
        operation_id="character_lorebooks_set",
        request=LorebookAttachInput,
        responses={
            200: enveloped("CharacterLorebooksEnvelope", CharacterLorebookOutput),
            **BODY_ERRORS,
            **AUTH_ERRORS,
        },
        description="Attach exactly these shared lorebooks to the character (the others are detached) and "
        "publish its next version. An id that is not one of your app's shared books is 404.",
    )
    def put(self, request, slug: str):
        ids = request.data.get("lorebook_ids") if isinstance(request.data, dict) else None
        saved = services.character_lorebooks_set(
            app=request.user, slug=slug, lorebook_ids=ids, published_via=_via(request)
        )
        data = _character_answer(saved.characters[0], saved)
        return envelope(data, [action(f"GET /v1/characters/{slug}/lorebook", "See the books the character uses")])


class LorebookCollectionApi(APIView):
    example_bodies = {"POST": _BOOK_EXAMPLE}

    @extend_schema(
        operation_id="lorebook_list",
        responses={200: enveloped("LorebookListEnvelope", SharedLorebookListOutput), **AUTH_ERRORS},
        description="Your app's shared lorebooks, by name, with the characters each is attached to.",
    )
    def get(self, request):
        books = [presenters.shared_lorebook_summary(book) for book in selectors.lorebook_list(app=request.user)]
        return envelope({"lorebooks": books}, [action("POST /v1/lorebooks", "Create a shared book")])

    @extend_schema(
        operation_id="lorebook_create",
        request=SharedBookInput,
        responses={
            201: enveloped("LorebookCreatedEnvelope", SharedLorebookOutput),
            409: ErrorSerializer,
            **BODY_ERRORS,
            **AUTH_ERRORS,
        },
        description="Create a shared lorebook (a Card V2 `character_book` with a `name` unique in your app). "
        "Attach it with PUT /v1/characters/{slug}/lorebooks. A second POST with the same name is 409 "
        "`lorebook_name_taken`, so a retry never makes two books.",
    )
    def post(self, request):
        saved = services.lorebook_create(app=request.user, data=request.data)
        book = saved.lorebook
        return envelope(
            presenters.shared_lorebook_data(book, entries=saved.entries, characters=[]),
            [action(f'PUT /v1/characters/{{slug}}/lorebooks {{"lorebook_ids": ["{book.id}"]}}', "Attach it")],
            status=201,
        )


class LorebookDetailApi(APIView):
    example_bodies = {"PUT": _BOOK_EXAMPLE}

    @extend_schema(
        operation_id="lorebook_get",
        responses={200: enveloped("LorebookEnvelope", SharedLorebookOutput), **AUTH_ERRORS},
    )
    def get(self, request, lorebook_id: str):
        book = selectors.lorebook_get(app=request.user, lorebook_id=lorebook_id)
        return envelope(
            presenters.shared_lorebook_data(book), [action(f"PUT /v1/lorebooks/{lorebook_id}", "Replace the book")]
        )

    @extend_schema(
        operation_id="lorebook_update",
        request=SharedBookInput,
        responses={
            200: enveloped("LorebookUpdatedEnvelope", SharedLorebookOutput),
            409: ErrorSerializer,
            **BODY_ERRORS,
            **AUTH_ERRORS,
        },
        description="Replace a shared lorebook whole and publish the next version of every character it is "
        "attached to, in one transaction (`published`).",
    )
    def put(self, request, lorebook_id: str):
        saved = services.lorebook_update(
            app=request.user, lorebook_id=lorebook_id, data=request.data, published_via=_via(request)
        )
        data = presenters.shared_lorebook_data(saved.lorebook, entries=saved.entries, characters=saved.characters)
        data["published"] = presenters.published_data(saved.published)
        return envelope(data, [action(f"GET /v1/lorebooks/{lorebook_id}", "Read the book back")])

    @extend_schema(
        operation_id="lorebook_delete",
        responses={200: enveloped("LorebookDeletedEnvelope", SharedLorebookDeletedOutput), **AUTH_ERRORS},
        description="Delete a shared lorebook; every character it was attached to gets a new version without it.",
    )
    def delete(self, request, lorebook_id: str):
        saved = services.lorebook_delete(app=request.user, lorebook_id=lorebook_id, published_via=_via(request))
        return envelope(
            {"id": lorebook_id, "deleted": True, "published": presenters.published_data(saved.published)},
            [action("GET /v1/lorebooks", "List the remaining shared books")],
        )
