"""Emotion sessions (molroo's ``sessionId``): a resolved persona, its emotion dynamics and its current state.

The engine (``apps.personas.engine``) is pure; these rows are where its values live between turns, as JSON
snapshots of the engine's dataclasses. A turn locks its session row, so concurrent turns on one session
apply one after the other and none is lost.
"""

from django.db import models

from apps.core.models import TimestampedModel, prefixed_id_field


class PersonaSession(TimestampedModel):
    """One persona's emotional life with the end-users of one app.

    ``persona`` is the resolved persona (identity, personality with facets, goals, the preset it came
    from), ``config`` the emotion dynamics (derived from the personality unless overridden), ``state`` the
    engine's emotion state after the last turn. Deleting a session deletes everything that hangs off it.
    """

    id = prefixed_id_field("ses")
    app = models.ForeignKey("accounts.App", on_delete=models.CASCADE, related_name="persona_sessions")
    preset = models.CharField(max_length=64, blank=True)
    persona = models.JSONField()
    config = models.JSONField()
    state = models.JSONField()
    relationship = models.JSONField(default=dict, blank=True, help_text="With the session's own end-user.")
    turn_count = models.PositiveIntegerField(default=0)
    last_turn_at = models.DateTimeField(null=True, blank=True)
    proactive_enabled = models.BooleanField(default=False)
    proactive_preferences = models.JSONField(default=dict, blank=True)
    proactive_next_check_at = models.DateTimeField(
        null=True, blank=True, help_text="When the periodic sweep next evaluates this session's proactive triggers."
    )
    spec = models.JSONField(
        null=True,
        blank=True,
        help_text="The persona API's config as the client sent it (molroo SDK's PersonaConfigData); null for "
        "sessions of the session API and of characters.",
    )
    emotion_history = models.JSONField(
        default=list, blank=True, help_text="The newest emotions after each change: [{V, A, D, timestamp}]."
    )
    deleted_at = models.DateTimeField(
        null=True, blank=True, help_text="Deleted through the persona API: restorable until the retention ends."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["app", "-created_at", "-id"], name="persona_session_app_recent"),
            # The persona API's deleted personas, for the purge once their retention ends.
            models.Index(
                fields=["deleted_at"], name="persona_session_deleted", condition=models.Q(deleted_at__isnull=False)
            ),
            # The sweep reads only sessions with proactive behaviour on, the most overdue first.
            models.Index(
                fields=["proactive_next_check_at"],
                name="persona_session_proactive_due",
                condition=models.Q(proactive_enabled=True),
            ),
        ]

    def __str__(self) -> str:
        return self.id


class PersonaRelationship(TimestampedModel):
    """How the persona relates to one more end-user: trust, attachment style and the engine's bookkeeping.

    molroo's API has one end-user per session, whose relationship lives on the session row; a turn that
    names a ``userId`` (our extension, the integrator's opaque end-user id) keeps that user's here.
    """

    session = models.ForeignKey(PersonaSession, on_delete=models.CASCADE, related_name="relationships")
    user_ref = models.CharField(max_length=256, blank=True)
    state = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "user_ref"], name="persona_relationship_one_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.session_id}/{self.user_ref or '-'}"


class ProactiveAction(TimestampedModel):
    """Something the persona wants to initiate (molroo's proactive action), pending until acknowledged."""

    class Type(models.TextChoices):
        ATTACHMENT_SEEKING = "attachment_seeking"
        NEED_DEFICIT = "need_deficit"
        EMOTIONAL_OVERFLOW = "emotional_overflow"

    class Priority(models.TextChoices):
        LOW = "low"
        MEDIUM = "medium"
        HIGH = "high"

    id = prefixed_id_field("pa")
    session = models.ForeignKey(PersonaSession, on_delete=models.CASCADE, related_name="proactive_actions")
    type = models.CharField(max_length=32, choices=Type.choices)
    message = models.TextField()
    priority = models.CharField(max_length=8, choices=Priority.choices)
    metadata = models.JSONField(default=dict, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["session", "created_at"],
                name="proactive_action_pending",
                condition=models.Q(acknowledged_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class CharacterPersona(TimestampedModel):
    """The persona a character's native sessions start from, edited in the admin.

    ``spec`` is a molroo persona body (``preset`` and/or ``identity``, ``personality``, ``goals``,
    ``emotion_config``); what it leaves out comes from the character's content (name, locale,
    ``emotion_baseline``). Each native session snapshots the resolved persona when its emotion starts, so an
    edit applies to sessions started afterwards, the way a published character version does.
    """

    character = models.OneToOneField("characters.Character", on_delete=models.CASCADE, related_name="persona")
    spec = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"persona of {self.character_id}"


class World(TimestampedModel):
    """Several personas sharing a scene (the persona API's worlds): who is in it, what they can do to each other
    and how they relate. ``response_rule`` says who reacts to an interaction besides its target: ``target``
    (nobody), ``all`` (every other member, as a witness) or ``ai`` (the members related to the actor or the
    target in this world). Deleting one marks it (``deleted_at``); it is purged with deleted personas."""

    class AccessPolicy(models.TextChoices):
        CLOSED = "closed"
        OPEN = "open"

    class ResponseRule(models.TextChoices):
        TARGET = "target"
        ALL = "all"
        AI = "ai"

    id = prefixed_id_field("wld")
    app = models.ForeignKey("accounts.App", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    access_policy = models.CharField(max_length=8, choices=AccessPolicy.choices, default=AccessPolicy.CLOSED)
    response_rule = models.CharField(max_length=8, choices=ResponseRule.choices, default=ResponseRule.TARGET)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["app", "-created_at", "-id"], name="world_app_recent")]

    def __str__(self) -> str:
        return self.name


class WorldMember(TimestampedModel):
    """A persona in a world, under the name the world knows it by."""

    id = prefixed_id_field("wm")
    world = models.ForeignKey(World, on_delete=models.CASCADE, related_name="members")
    persona = models.ForeignKey(PersonaSession, on_delete=models.CASCADE, related_name="+")
    config_ref = models.CharField(max_length=200, blank=True, default="", help_text="The SDK's persona_config_id.")
    display_name = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["world", "persona"], name="world_member_once")]

    def __str__(self) -> str:
        return self.display_name or self.persona_id


class WorldAction(TimestampedModel):
    """A world's own action (the defaults are ``apps.personas.worlds.DEFAULT_ACTIONS``): what doing it to a
    persona means, as an appraisal vector."""

    id = prefixed_id_field("act")
    world = models.ForeignKey(World, on_delete=models.CASCADE, related_name="actions")
    name = models.CharField(max_length=64)
    description = models.TextField(blank=True, default="")
    appraisal = models.JSONField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["world", "name"], name="world_action_name_unique")]

    def __str__(self) -> str:
        return self.name


class WorldRelationship(TimestampedModel):
    """How one entity of a world (a member persona or a user) relates to another: kind, strength, trust."""

    id = prefixed_id_field("rel")
    world = models.ForeignKey(World, on_delete=models.CASCADE, related_name="relationships")
    source_type = models.CharField(max_length=8)
    source_ref = models.CharField(max_length=256)
    target_type = models.CharField(max_length=8)
    target_ref = models.CharField(max_length=256)
    kind = models.CharField(max_length=64, blank=True, default="")
    description = models.TextField(blank=True, default="")
    strength = models.FloatField(default=0.5)
    trust = models.FloatField(default=0.5)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["world", "source_type", "source_ref", "target_type", "target_ref"],
                name="world_relationship_pair",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_ref} -> {self.target_ref}"


class WorldEvent(models.Model):
    """What happened in a world, in order (``id`` is the cursor): interactions and membership changes."""

    world = models.ForeignKey(World, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=32)
    data = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["world", "id"], name="world_event_cursor")]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"
