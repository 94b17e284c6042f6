"""``GET /v1/sessions/{id}/state``: the character's current emotion in a session."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from apps.api.native.envelope import action, envelope
from apps.api.native.serializers import AUTH_ERRORS, enveloped
from apps.conversations import selectors


class VadOutput(serializers.Serializer):
    V = serializers.FloatField(help_text="Valence, -1 (unpleasant) to 1 (pleasant).")
    A = serializers.FloatField(help_text="Arousal, 0 (calm) to 1 (activated).")
    D = serializers.FloatField(help_text="Dominance, -1 (submissive) to 1 (in control).")


class DiscreteEmotionOutput(serializers.Serializer):
    primary = serializers.CharField()
    secondary = serializers.CharField()
    intensity = serializers.FloatField()


class StageOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="Soul stage 1-15.")
    name = serializers.CharField()


class NeedsOutput(serializers.Serializer):
    autonomy = serializers.FloatField()
    competence = serializers.FloatField()
    relatedness = serializers.FloatField()


class RegulationEventOutput(serializers.Serializer):
    turn = serializers.IntegerField()
    strategy = serializers.CharField()
    absorbed = serializers.FloatField()


class RegulationOutput(serializers.Serializer):
    active_strategy = serializers.CharField(allow_null=True)
    history = RegulationEventOutput(many=True)


class AffectDynamicsOutput(serializers.Serializer):
    variability = serializers.FloatField()
    instability = serializers.FloatField()


class RelationshipOutput(serializers.Serializer):
    trust = serializers.FloatField(help_text="0-1; slow to gain, fast to lose.")
    attachment_style = serializers.CharField()
    bond = serializers.FloatField()
    unhealthy_patterns = serializers.ListField(child=serializers.CharField())


class SessionStateOutput(serializers.Serializer):
    session_id = serializers.CharField()
    persona_session_id = serializers.CharField(
        allow_null=True, help_text="The emotion session behind it (also readable at /emotion/v1/state/{id})."
    )
    turns = serializers.IntegerField(help_text="User messages that moved the emotion so far.")
    updated_at = serializers.DateTimeField(allow_null=True)
    emotion = VadOutput()
    emotion_intensity = serializers.FloatField()
    discrete_emotion = DiscreteEmotionOutput()
    body_budget = serializers.FloatField(help_text="Psychological energy, 0-1.")
    soul_stage = StageOutput()
    need_state = NeedsOutput()
    regulation = RegulationOutput()
    affect_dynamics = AffectDynamicsOutput()
    relationship = RelationshipOutput()
    prompt_data = serializers.DictField(help_text="system/context/instruction blocks and their formatted text.")


class SessionStateApi(APIView):
    @extend_schema(
        operation_id="session_state_get",
        responses={200: enveloped("SessionStateEnvelope", SessionStateOutput), **AUTH_ERRORS},
        description="The character's current emotion in this session; before the first message, the state it "
        "starts in. Each reply is followed by an `emotion.updated` event with the new values.",
    )
    def get(self, request, session_id: str):
        data = selectors.session_emotion_state(app=request.user, session_id=session_id)
        return envelope(
            SessionStateOutput(data).data,
            [action(f"GET /v1/sessions/{session_id}/events?since=0", "Read the emotion.updated events")],
        )
