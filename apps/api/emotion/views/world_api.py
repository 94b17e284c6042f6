"""The world API of molroo's SDK 0.7 (``/worlds`` and below): several personas in one scene. Bodies
``{"result": ...}``; a world's members are personas of the persona API (``/personas``)."""

import functools

from apps.api.emotion import world_presenters as presenters
from apps.api.emotion.persona_serializers import PageQuery, TickInput
from apps.api.emotion.views.base import EmotionApiView
from apps.api.emotion.views.sdk import appraisal_split, newest_first_page, result, text
from apps.api.emotion.world_serializers import (
    ActionInput,
    InteractInput,
    MemberInput,
    MemberPromptContextInput,
    RelationshipInput,
    WorldInput,
    WorldUpdateInput,
)
from apps.api.shared.validation import json_object, optional_json_object, validated
from apps.core.errors import ValidationFailed
from apps.personas import selectors, services


class WorldCollectionApi(EmotionApiView):
    def post(self, request):
        data = validated(WorldInput, json_object(request.data))
        world = services.world_create(
            app=request.user,
            name=data["name"],
            description=text(data.get("description")),
            access_policy=text(data.get("access_policy")),
            response_rule=text(data.get("response_rule")),
        )
        return result(presenters.world(world), status=201)

    def get(self, request):
        page_of = functools.partial(selectors.world_page, app=request.user)
        return newest_first_page(request, key="worlds", page_of=page_of, render=presenters.world)


class WorldDetailApi(EmotionApiView):
    def get(self, request, world_id: str):
        return result(presenters.world(selectors.world_get(app=request.user, world_id=world_id)))

    def patch(self, request, world_id: str):
        data = validated(WorldUpdateInput, json_object(request.data))
        changes = {name: value for name, value in data.items() if value is not None}
        return result(presenters.world(services.world_update(app=request.user, world_id=world_id, changes=changes)))

    def delete(self, request, world_id: str):
        services.world_delete(app=request.user, world_id=world_id)
        return result({"deleted": True, "id": world_id})


class MemberCollectionApi(EmotionApiView):
    def post(self, request, world_id: str):
        data = validated(MemberInput, json_object(request.data))
        member = services.world_member_add(
            app=request.user,
            world_id=world_id,
            persona_id=text(data.get("persona_id")),
            config=data.get("config"),
            config_ref=text(data.get("persona_config_id")),
            display_name=text(data.get("display_name")),
        )
        return result(presenters.member_ref(member), status=201)

    def get(self, request, world_id: str):
        world = selectors.world_get(app=request.user, world_id=world_id)
        return result({"personas": [presenters.member_detail(m) for m in selectors.world_members(world=world)]})


class MemberDetailApi(EmotionApiView):
    def get(self, request, world_id: str, member_ref: str):
        member = selectors.world_member_get(app=request.user, world_id=world_id, member_ref=member_ref)
        return result(presenters.member_detail(member))

    def delete(self, request, world_id: str, member_ref: str):
        services.world_member_remove(app=request.user, world_id=world_id, member_ref=member_ref)
        return result({"removed": True, "id": member_ref})


class MemberPromptContextApi(EmotionApiView):
    def post(self, request, world_id: str, member_ref: str):
        data = validated(MemberPromptContextInput, optional_json_object(request.data))
        world = selectors.world_get(app=request.user, world_id=world_id)
        member = selectors.world_member_get(app=request.user, world_id=world_id, member_ref=member_ref)
        context = selectors.persona_prompt_context(
            session=member.persona,
            source_entity=data.get("sourceEntity", ""),
            suffix=data.get("consumerSuffix", ""),
            extra=selectors.world_scene_sections(world=world, member=member),
        )
        return result(context)


class MemberTickApi(EmotionApiView):
    def post(self, request, world_id: str, member_ref: str):
        seconds = validated(TickInput, json_object(request.data))["seconds"]
        tick = services.world_member_tick(app=request.user, world_id=world_id, member_ref=member_ref, seconds=seconds)
        return result({"pendingEvents": list(tick.events)})


class ActionCollectionApi(EmotionApiView):
    def post(self, request, world_id: str):
        data = validated(ActionInput, json_object(request.data))
        action = services.world_action_create(
            app=request.user,
            world_id=world_id,
            name=data["name"],
            description=text(data.get("description")),
            appraisal=appraisal_split(data["appraisal_vector"])[0],
        )
        return result({"id": action.id, "name": action.name}, status=201)

    def get(self, request, world_id: str):
        world = selectors.world_get(app=request.user, world_id=world_id)
        return result({"actions": [presenters.action(item) for item in selectors.world_actions(world=world)]})


class ActionDetailApi(EmotionApiView):
    def delete(self, request, world_id: str, action_ref: str):
        services.world_action_delete(app=request.user, world_id=world_id, action_ref=action_ref)
        return result({"deleted": True, "id": action_ref})


class RelationshipCollectionApi(EmotionApiView):
    def put(self, request, world_id: str):
        data = validated(RelationshipInput, json_object(request.data))
        relationship = services.world_relationship_set(
            app=request.user,
            world_id=world_id,
            source_type=data["source_type"],
            source_ref=data["source_id"],
            target_type=data["target_type"],
            target_ref=data["target_id"],
            kind=text(data.get("relationship_type")),
            description=text(data.get("description")),
            strength=data.get("strength"),
            trust=data.get("trust"),
        )
        return result(presenters.relationship(relationship))

    def get(self, request, world_id: str):
        world = selectors.world_get(app=request.user, world_id=world_id)
        rows = selectors.world_relationships(world=world)
        return result({"relationships": [presenters.relationship(rel) for rel in rows]})


class RelationshipDetailApi(EmotionApiView):
    def delete(self, request, world_id: str, relationship_id: str):
        services.world_relationship_delete(app=request.user, world_id=world_id, relationship_id=relationship_id)
        return result({"deleted": True, "id": relationship_id})


class InteractApi(EmotionApiView):
    def post(self, request, world_id: str):
        data = validated(InteractInput, json_object(request.data))
        outcome = services.world_interact(
            app=request.user,
            world_id=world_id,
            target_ref=data["target_persona_id"],
            action=text(data.get("action_name")),
            label=text(data.get("action_label")),
            stimulus=text(data.get("stimulus_description")),
            appraisal=appraisal_split(data.get("appraisal_vector"))[0],
            actor_ref=text(data.get("actor_id")),
            actor_type=data.get("actor_type") or "user",
        )
        return result(presenters.interaction(outcome))


class EventListApi(EmotionApiView):
    def get(self, request, world_id: str):
        query = validated(PageQuery, request.query_params)
        after = None
        if "cursor" in query:
            if not query["cursor"].isdigit():
                raise ValidationFailed({"cursor": ["Not a cursor returned by this endpoint."]})
            after = int(query["cursor"])
        world = selectors.world_get(app=request.user, world_id=world_id)
        page, more = selectors.world_events_page(world=world, after=after, limit=query["limit"])
        cursor = str(page[-1].id) if more else None
        return result({"events": [presenters.event(e) for e in page], "nextCursor": cursor})
