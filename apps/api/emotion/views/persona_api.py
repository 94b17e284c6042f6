"""The persona API of molroo's SDK 0.7 (``/personas`` and ``/personas/{id}/...``): bodies ``{"result": ...}``.

A persona here is an emotion session of the personas app created through this API (see the integrators'
note for how the SDK's fields map onto ours). Perceiving records an episode in the one memory store, which
``memory/search`` searches; both go through the conversations app's doors, which keep that store.
"""

import functools

from apps.api.emotion import persona_presenters as presenters
from apps.api.emotion.persona_serializers import (
    EmotionInput,
    MemorySearchInput,
    PerceiveInput,
    PersonaConfigInput,
    PersonaCreateInput,
    PromptContextInput,
    SnapshotInput,
    TickInput,
)
from apps.api.emotion.views.base import EmotionApiView
from apps.api.emotion.views.sdk import appraisal_split, newest_first_page, result
from apps.api.shared.validation import idempotency_key, json_object, optional_json_object, validated
from apps.conversations import selectors as conversation_selectors
from apps.conversations import services as conversation_services
from apps.personas import selectors, services


class PersonaCollectionApi(EmotionApiView):
    def post(self, request):
        config = validated(PersonaCreateInput, json_object(request.data))["config"]
        body = conversation_services.idempotent_answer(
            app=request.user,
            key=idempotency_key(request),
            scope="persona_create",
            body=request.data,
            answer=lambda: presenters.persona_summary(services.persona_create(app=request.user, config=config)),
        )
        return result(body, status=201)

    def get(self, request):
        page_of = functools.partial(selectors.persona_api_page, app=request.user)
        return newest_first_page(request, key="personas", page_of=page_of, render=presenters.persona_summary)


class PersonaDetailApi(EmotionApiView):
    def get(self, request, persona_id: str):
        return result(presenters.persona_summary(selectors.persona_api_get(app=request.user, persona_id=persona_id)))

    def patch(self, request, persona_id: str):
        updates = validated(PersonaConfigInput, json_object(request.data))
        session = services.persona_update(app=request.user, persona_id=persona_id, updates=updates)
        return result(presenters.persona_summary(session))

    def delete(self, request, persona_id: str):
        services.persona_delete(app=request.user, persona_id=persona_id)
        return result({"deleted": True, "id": persona_id})


class PersonaRestoreApi(EmotionApiView):
    def post(self, request, persona_id: str):
        return result(presenters.persona_summary(services.persona_restore(app=request.user, persona_id=persona_id)))


class PerceiveApi(EmotionApiView):
    def post(self, request, persona_id: str):
        data = validated(PerceiveInput, json_object(request.data))
        event = data["event"]
        appraisal, appraisal_extra = appraisal_split(event.get("appraisal"))
        context = data.get("context") or {}
        relationship = context.get("relationshipContext") or {}
        timestamp = event.get("timestamp")
        perception = conversation_services.persona_perceive(
            app=request.user,
            persona_id=persona_id,
            message=event["payload"]["message"],
            event_type=event["type"],
            appraisal=appraisal,
            appraisal_extra=appraisal_extra,
            source_entity=event.get("sourceEntity") or "",
            timestamp_ms=int(timestamp) if timestamp is not None else None,
            trust_initial=relationship.get("trust"),
            stimulus=event.get("stimulus"),
            prior_episodes=context.get("priorEpisodes") or (),
        )
        return result(presenters.agent_response(perception))


class TickApi(EmotionApiView):
    def post(self, request, persona_id: str):
        seconds = validated(TickInput, json_object(request.data))["seconds"]
        tick = services.persona_tick(app=request.user, persona_id=persona_id, seconds=seconds)
        return result({"pendingEvents": list(tick.events), "state": selectors.persona_api_state(session=tick.session)})


class EmotionApi(EmotionApiView):
    def post(self, request, persona_id: str):
        vad = validated(EmotionInput, json_object(request.data))["vad"]
        session = services.persona_emotion_set(app=request.user, persona_id=persona_id, vad=vad)
        return result({"emotion": selectors.persona_api_state(session=session)["emotion"]})


class StateApi(EmotionApiView):
    def get(self, request, persona_id: str):
        session = selectors.persona_api_get(app=request.user, persona_id=persona_id)
        return result(selectors.persona_api_state(session=session))


class SnapshotApi(EmotionApiView):
    def get(self, request, persona_id: str):
        session = selectors.persona_api_get(app=request.user, persona_id=persona_id)
        return result(selectors.persona_snapshot(session=session))

    def put(self, request, persona_id: str):
        snapshot = validated(SnapshotInput, json_object(request.data))["snapshot"]
        services.persona_snapshot_restore(app=request.user, persona_id=persona_id, snapshot=snapshot)
        return result({"restored": True})


class PromptContextApi(EmotionApiView):
    def post(self, request, persona_id: str):
        data = validated(PromptContextInput, optional_json_object(request.data))
        session = selectors.persona_api_get(app=request.user, persona_id=persona_id)
        context = selectors.persona_prompt_context(
            session=session, source_entity=data.get("sourceEntity", ""), suffix=data.get("consumerSuffix", "")
        )
        return result(context)


class MemorySearchApi(EmotionApiView):
    def post(self, request, persona_id: str):
        data = validated(MemorySearchInput, json_object(request.data))
        found = conversation_selectors.persona_episodes_search(
            app=request.user,
            persona_id=persona_id,
            query=data["query"],
            top_k=data["topK"],
            min_importance=data["minImportance"],
        )
        return result({"episodes": [presenters.found_episode(item) for item in found]})
