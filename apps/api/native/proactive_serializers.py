"""Request and response shapes of the native surface's proactive-message controls (also their OpenAPI schema)."""

from rest_framework import serializers

from apps.api.native.shape_serializers import shape_serializer
from apps.conversations import types as conversation_types


class ProactiveControlsInput(shape_serializer(conversation_types.CONTROLS_UPDATE)):
    """Send only what changes; unknown fields are refused."""


class QuietHoursOutput(serializers.Serializer):
    start = serializers.CharField()
    end = serializers.CharField()


class ProactiveControlValuesOutput(serializers.Serializer):
    proactivity_tolerance = serializers.FloatField()
    cold_initiate_enabled = serializers.BooleanField()
    session_resume_enabled = serializers.BooleanField()
    cold_initiate_min_idle_minutes = serializers.IntegerField()
    session_resume_min_idle_minutes = serializers.IntegerField()
    session_resume_max_unanswered_character_turns = serializers.IntegerField()
    min_gap_between_initiate_minutes = serializers.IntegerField()
    daily_initiate_cap = serializers.IntegerField()


SOURCE_CHOICES = ["session", "character", "default"]


class ProactiveControlSourcesOutput(serializers.Serializer):
    proactivity_tolerance = serializers.ChoiceField(choices=SOURCE_CHOICES)
    cold_initiate_enabled = serializers.ChoiceField(choices=SOURCE_CHOICES)
    session_resume_enabled = serializers.ChoiceField(choices=SOURCE_CHOICES)
    cold_initiate_min_idle_minutes = serializers.ChoiceField(choices=SOURCE_CHOICES)
    session_resume_min_idle_minutes = serializers.ChoiceField(choices=SOURCE_CHOICES)
    session_resume_max_unanswered_character_turns = serializers.ChoiceField(choices=SOURCE_CHOICES)
    min_gap_between_initiate_minutes = serializers.ChoiceField(choices=SOURCE_CHOICES)
    daily_initiate_cap = serializers.ChoiceField(choices=SOURCE_CHOICES)


class ProactiveControlsOutput(serializers.Serializer):
    session_id = serializers.CharField()
    proactive_enabled = serializers.BooleanField()
    timezone = serializers.CharField()
    quiet_hours = QuietHoursOutput(allow_null=True)
    controls = ProactiveControlValuesOutput(help_text="The effective value of every control.")
    sources = ProactiveControlSourcesOutput(
        help_text="Where each value comes from: this session's override, the character's behavioral_thresholds, "
        "or the platform default."
    )
    sent_today = serializers.IntegerField(help_text="Scheduled proactive messages in the end-user's current day.")
    next_due_at = serializers.DateTimeField(
        allow_null=True, help_text="The earliest time the next proactive message may be sent, if any."
    )
    next_kind = serializers.ChoiceField(choices=["cold_initiate", "session_resume"], allow_null=True)


class ProactiveTestOutput(serializers.Serializer):
    accepted = serializers.BooleanField()
    run_ref = serializers.CharField()
    cursor = serializers.IntegerField(help_text="Cursor of the run.status event; the message follows it.")
    kind = serializers.CharField()
