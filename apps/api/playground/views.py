"""The playground's page and the small JSON views its script calls (session login, CSRF on every POST).

Each JSON view checks who is asking and for which app (``access``), calls the domain, and answers JSON; an
error comes back in the house envelope (``{"detail": {code, message, fix}}``). The page never polls: replies,
emotion and NPC changes reach it over the session's native SSE stream, opened with a stream token minted here.
"""

import json
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from apps.api.playground import presenters
from apps.api.playground.access import playground_app, playground_apps
from apps.api.playground.errors import PlaygroundNotAllowed
from apps.api.shared.errors import application_error_response
from apps.characters import selectors as characters_selectors
from apps.conversations import selectors as conversations_selectors
from apps.conversations import services as conversations_services
from apps.conversations.errors import RunNotFound
from apps.core.errors import ApplicationError, ValidationFailed
from apps.llm import selectors as llm_selectors
from apps.npcs import selectors as npcs_selectors
from apps.npcs.errors import PlaythroughNotFound

# How much of a resumed session's log the page replays when it opens the stream (older turns stay in the admin).
HISTORY_EVENTS = 60
NPC_LIST_LIMIT = 100


def page(request: HttpRequest):
    """``GET /playground/``: the page. Anonymous visitors go to the admin's login and come back; signed-in users
    who may not use it get a 403 page that says why."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    try:
        apps = playground_apps(request)
    except PlaygroundNotAllowed as error:
        return render(
            request, "playground/forbidden.html", {"message": error.message, "fix": error.fix_hint}, status=403
        )
    spec = llm_selectors.model_spec_get()
    context = {
        "apps": apps,
        "end_user_ref": f"playground:{request.user.get_username()}",
        "model_name": spec.name,
        "model_provider": spec.provider,
        "offline_model": spec.provider == "scripted",
    }
    return render(request, "playground/index.html", context)


def _json_view(view: Callable[..., tuple[int, dict[str, Any]]]) -> Callable[..., JsonResponse]:
    """Answers ``view``'s (status, body) as JSON, and its errors in the envelope. Every view starts with
    ``playground_app``, which refuses anyone who may not use the playground, or not for that app."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        try:
            status, body = view(request, *args, **kwargs)
        except ApplicationError as error:
            return application_error_response(error)
        return JsonResponse(body, status=status)

    return wrapped


class SessionOpenForm(forms.Form):
    character_id = forms.CharField(required=False, max_length=64)
    npc_id = forms.CharField(required=False, max_length=64)
    end_user_ref = forms.CharField(max_length=256)
    restart = forms.BooleanField(required=False)

    def clean(self):
        data = super().clean()
        if bool(data.get("character_id")) == bool(data.get("npc_id")):
            raise forms.ValidationError("Pick either a character (character_id) or an NPC (npc_id).")
        return data


class MessageForm(forms.Form):
    text = forms.CharField(max_length=settings.MESSAGE_MAX_CHARS)


def _valid(form_class: type[forms.Form], request: HttpRequest) -> dict[str, Any]:
    """The request's JSON body validated by ``form_class``; ValidationFailed (422) with the fields otherwise."""
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed({"body": ["Must be a JSON object."]}) from None
    form = form_class(data if isinstance(data, dict) else {})
    if not isinstance(data, dict) or not form.is_valid():
        fields = {("body" if name == "__all__" else name): list(errors) for name, errors in form.errors.items()}
        raise ValidationFailed(fields or {"body": ["Must be a JSON object."]})
    return form.cleaned_data


def _stream_url(app, session_id: str, since: int) -> str:
    issued = conversations_services.session_stream_token_issue(app=app, session_id=session_id)
    query = urlencode({"token": issued.token, "since": since})
    return f"{reverse('session-event-stream', args=[session_id])}?{query}"


@require_GET
@_json_view
def cast(request: HttpRequest, app_id: str) -> tuple[int, dict[str, Any]]:
    """``GET apps/<app_id>/cast``: the app's published characters and its NPCs with a published scenario."""
    app = playground_app(request, app_id)
    characters = characters_selectors.character_published_list(app=app)
    npcs = npcs_selectors.npc_list(app=app, mine_only=True, published_only=True, limit=NPC_LIST_LIMIT)
    return 200, {
        "app": {"id": app.id, "name": app.name},
        "characters": [presenters.character(character) for character in characters],
        "npcs": [presenters.npc(npc) for npc in npcs],
    }


def _npc_session_open(app, *, npc_id: str, end_user_ref: str, restart: bool):
    """The player's current run through the NPC's scenario, or a new one (always a new one with ``restart``)."""
    if not restart:
        try:
            playthrough = npcs_selectors.playthrough_get(app=app, npc_id=npc_id, player_session_id=end_user_ref)
        except PlaythroughNotFound:
            playthrough = None
        session = playthrough and conversations_selectors.npc_session_latest(playthrough_id=playthrough.pk)
        if session:
            return session, playthrough
    opened = conversations_services.npc_session_start(
        app=app, npc_id=npc_id, player_session_id=end_user_ref, player_name="", player_gender=""
    )
    return opened.session, opened.playthrough


@require_POST
@_json_view
def session_open(request: HttpRequest, app_id: str) -> tuple[int, dict[str, Any]]:
    """``POST apps/<app_id>/sessions`` ``{character_id | npc_id, end_user_ref, restart?}``: the end-user's session
    with the character (their newest conversation, else a new one) or their run through the NPC's scenario (the
    current one, else a new one; ``restart`` starts it again). Answers the session, its emotion now, the NPC's
    state and score, and the stream URL (with a fresh stream token) that replays its recent log."""
    app = playground_app(request, app_id)
    data = _valid(SessionOpenForm, request)
    playthrough = None
    if data["npc_id"]:
        session, playthrough = _npc_session_open(
            app, npc_id=data["npc_id"], end_user_ref=data["end_user_ref"], restart=data["restart"]
        )
    else:
        character = characters_selectors.character_get_by_id(app=app, character_id=data["character_id"])
        session_id = conversations_services.session_of_end_user_ensure(
            app=app, character_slug=character.slug, external_user_ref=data["end_user_ref"]
        )
        session = conversations_selectors.session_get(app=app, session_id=session_id)
    emotion = conversations_selectors.session_emotion_state(app=app, session_id=session.id)
    since = max(0, session.last_cursor - HISTORY_EVENTS)
    body = {
        "session": presenters.session(session),
        "emotion": presenters.emotion(emotion),
        "npc": presenters.playthrough(playthrough) if playthrough is not None else None,
        "stream_url": _stream_url(app, session.id, since),
    }
    return 201, body


@require_POST
@_json_view
def stream_token(request: HttpRequest, app_id: str, session_id: str) -> tuple[int, dict[str, Any]]:
    """``POST apps/<app_id>/sessions/<session_id>/stream-token`` ``{since}``: a fresh stream URL, for reopening
    the stream after its token expired (the page resumes after the last cursor it saw)."""
    app = playground_app(request, app_id)
    since = request.GET.get("since", "0")
    if not since.isdigit():
        raise ValidationFailed({"since": ["Must be a non-negative integer cursor."]})
    return 200, {"stream_url": _stream_url(app, session_id, int(since))}


@require_POST
@_json_view
def message_send(request: HttpRequest, app_id: str, session_id: str) -> tuple[int, dict[str, Any]]:
    """``POST apps/<app_id>/sessions/<session_id>/messages`` ``{text}``: one user message. A conversation's goes
    through ``message_send`` (a worker answers; 202 with the run); an NPC session's through ``npc_message_send``,
    which answers before returning (200 with the NPC's state). Either way the page sees the reply on its stream."""
    app = playground_app(request, app_id)
    text = _valid(MessageForm, request)["text"]
    session = conversations_selectors.session_get(app=app, session_id=session_id)
    if session.playthrough_id is None:
        sent = conversations_services.message_send(app=app, session_id=session.id, text=text)
        return 202, {"kind": "chat", "run_ref": sent.run_ref, "cursor": sent.cursor}
    playthrough = session.playthrough
    turn = conversations_services.npc_message_send(
        app=app,
        npc_id=playthrough.npc_id,
        player_session_id=playthrough.player_session_id,
        machine_id=playthrough.machine_id,
        text=text,
    )
    return 200, {"kind": "npc", "reply": turn.reply, "npc": presenters.npc_step(turn.step)}


@require_GET
@_json_view
def run_context(request: HttpRequest, app_id: str, session_id: str, run_id: str) -> tuple[int, dict[str, Any]]:
    """``GET apps/<app_id>/sessions/<session_id>/runs/<run_id>/context``: what the reply's prompt was made of
    (``Run.context``: parts with tokens, facts, lore, blocks, summary, trimmed parts, budget); null until the
    run has succeeded."""
    app = playground_app(request, app_id)
    session = conversations_selectors.session_get(app=app, session_id=session_id)
    runs = conversations_selectors.run_list(session_id=session.id, run_id=run_id, limit=1)
    if not runs:
        raise RunNotFound(f"No run '{run_id}' in this session.")
    run = runs[0]
    return 200, {"run_id": run.id, "status": run.status, "model": run.model or None, "context": run.context}
