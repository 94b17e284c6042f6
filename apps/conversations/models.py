"""Sessions, their event log and their runs."""

from django.db import models
from django.db.models import Q

from apps.assets import selectors as assets_selectors
from apps.conversations.types import RunKind, RunStatus
from apps.core.models import TimestampedModel, prefixed_id_field


class Session(TimestampedModel):
    """One character talking to one end-user of one app.

    A session follows its character: each turn runs on the version published when the turn starts, and
    ``character_version`` is the one its latest turn used. A pinned session (``character_version_pinned``,
    set at creation or with PATCH) stays on its ``character_version`` until moved or unpinned.

    ``last_cursor`` is the cursor of the newest event; it is only advanced by an UPDATE ... RETURNING in
    ``services.events_append``, which also row-locks the session, so cursors are gap-free and ordered.
    """

    id = prefixed_id_field("sess")
    app = models.ForeignKey("accounts.App", on_delete=models.CASCADE, related_name="sessions")
    character = models.ForeignKey("characters.Character", on_delete=models.PROTECT, related_name="sessions")
    character_version = models.ForeignKey("characters.CharacterVersion", on_delete=models.PROTECT, related_name="+")
    character_version_pinned = models.BooleanField(
        default=False, help_text="Stay on character_version instead of following each newly published version."
    )
    external_user_ref = models.CharField(max_length=256)
    # What the studio surface calls a conversation's title, system prompt and LLM: a session that sets them has
    # the system prompt added after the character's sheet and runs its turns on that catalog model.
    title = models.CharField(max_length=200, blank=True, default="")
    system_prompt = models.TextField(blank=True, default="")
    model = models.CharField(
        max_length=100,
        blank=True,
        default="",
        help_text="Catalog model for this session's turns; empty: the character's.",
    )
    proactive_enabled = models.BooleanField(default=False)
    last_cursor = models.BigIntegerField(default=0)
    user_turn_count = models.PositiveIntegerField(default=0)
    # Proactive messages: per-session overrides of the character's behavioral_thresholds (only the keys the
    # integrator set), the end-user's time zone and quiet hours, and when the scheduler should look next.
    proactive_controls = models.JSONField(default=dict, blank=True)
    timezone = models.CharField(max_length=64, default="UTC", help_text="IANA time zone of the end-user.")
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    proactive_next_due_at = models.DateTimeField(
        null=True, blank=True, help_text="When a proactive message may next be sent; kept by the proactive services."
    )
    persona_session = models.OneToOneField(
        "personas.PersonaSession",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="native_session",
        help_text="The character's emotion state in this conversation (started with the first turn).",
    )
    playthrough = models.ForeignKey(
        "npcs.Playthrough",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sessions",
        help_text="The NPC playthrough whose messages this session logs; a restart opens a new session.",
    )
    memory = models.ForeignKey(
        "Memory",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sessions",
        help_text="What the character knows about this end-user: shared by every session of the same character "
        "and end-user, so a new session (or an NPC's next scenario) remembers.",
    )
    summarised_through = models.BigIntegerField(
        default=0, help_text="Cursor of the newest message of this session folded into the memory's summary."
    )
    lore_state = models.JSONField(
        default=dict, blank=True, help_text="Lorebook timed effects (sticky, cooldown) carried between turns."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["app", "-created_at", "-id"], name="session_app_recent"),
            models.Index(fields=["app", "external_user_ref"], name="session_app_user"),
            # The scheduler's scan reads only due sessions, so its cost follows the due count, not all sessions.
            models.Index(
                fields=["proactive_next_due_at"],
                name="session_proactive_due",
                condition=Q(proactive_enabled=True, proactive_next_due_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.id


class Run(TimestampedModel):
    """One asynchronous turn: the work of answering one user message.

    Claimed by a worker with a conditional UPDATE that bumps ``attempts``; the attempt number is a fencing
    token, so a worker whose lease ran out cannot write a reply after another worker took the run over.
    """

    Status = RunStatus
    Kind = RunKind

    id = prefixed_id_field("run")
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(
        max_length=16,
        choices=Kind.choices,
        default=Kind.REPLY,
        help_text="A reply, or a message the character initiates.",
    )
    trigger_cursor = models.BigIntegerField(help_text="Cursor of the event that asked for this turn.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    available_at = models.DateTimeField(help_text="Not to be started before this time (retry backoff).")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    model = models.CharField(max_length=200, blank=True)
    model_calls = models.PositiveIntegerField(default=0)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    character_version = models.ForeignKey(
        "characters.CharacterVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The character version the turn ran on (set when it finishes).",
    )
    context = models.JSONField(
        null=True,
        blank=True,
        help_text="What the reply's prompt was made of: its parts with their tokens, the lore that fired and "
        "why, the facts recalled, the blocks, and what the token budget trimmed.",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["session", "-created_at"], name="run_session_recent"),
            # The recovery sweep reads only unfinished runs.
            models.Index(
                fields=["status", "available_at"], name="run_unfinished", condition=Q(status__in=["queued", "running"])
            ),
            # A message counts its session's unanswered turns (TURNS_MAX_PENDING_PER_SESSION) on this.
            models.Index(
                fields=["session"], name="run_session_unfinished", condition=Q(status__in=["queued", "running"])
            ),
        ]

    def __str__(self) -> str:
        return self.id


IMAGE_READY = "image.ready"


class Event(models.Model):
    """One entry of a session's append-only log. ``cursor`` is per session, strictly increasing, gap-free."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="events")
    cursor = models.BigIntegerField()
    event_type = models.CharField(max_length=64)
    role = models.CharField(max_length=16, blank=True)
    payload = models.JSONField(default=dict)
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["session", "cursor"]
        constraints = [models.UniqueConstraint(fields=["session", "cursor"], name="event_session_cursor_unique")]

    def __str__(self) -> str:
        return f"{self.session_id}#{self.cursor} {self.event_type}"

    def as_public_dict(self) -> dict:
        """The event as every delivery path carries it (polling, SSE, webhooks, the trace).

        An ``image.ready`` event is stored with the image's id only; its signed, expiring ``url``,
        ``thumbnail_url`` and ``url_expires_at`` are minted here, each time the event is read or announced
        (signing needs no query, so a page of image events costs nothing more to read)."""
        payload = self.payload
        if self.event_type == IMAGE_READY and isinstance(payload, dict) and payload.get("image_id"):
            payload = {**payload, **assets_selectors.image_links(image_id=payload["image_id"])}
        return {
            "event_id": f"evt_{self.session_id.removeprefix('sess_')}_{self.cursor}",
            "session_id": self.session_id,
            "cursor": self.cursor,
            "event_type": self.event_type,
            "role": self.role or None,
            "payload": payload,
            "run_ref": self.run_id,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
        }


class IdempotencyRecord(models.Model):
    """The first answer to a request made with an ``Idempotency-Key``, replayed for retries of it."""

    app = models.ForeignKey("accounts.App", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    scope = models.CharField(max_length=255, help_text="The operation and target the key was used for.")
    fingerprint = models.CharField(max_length=64)
    response = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "key"], name="idempotency_app_key_unique")]

    def __str__(self) -> str:
        return f"{self.app_id}:{self.key}"


class ProactiveSend(models.Model):
    """The ledger of scheduled proactive sends: one row per claimed slot.

    ``slot_at`` is the due time the scheduler claimed; the unique (session, slot_at) is the last word on
    "each slot is sent at most once", whatever beats and workers race. The daily cap and the minimum gap
    are counted from ``sent_at``. Test sends (POST .../proactive-test) bypass the schedule and are not here.
    """

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="proactive_sends")
    slot_at = models.DateTimeField()
    sent_at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=Run.Kind.choices)
    run = models.OneToOneField(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="proactive_send")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "slot_at"], name="proactive_send_slot_unique")]
        indexes = [models.Index(fields=["session", "-sent_at"], name="proactive_send_recent")]

    def __str__(self) -> str:
        return f"{self.session_id}@{self.slot_at.isoformat()} {self.kind}"


class SelfieDayCount(models.Model):
    """How many selfies a character has sent one end-user of an app on one local day (in the end-user's zone).

    The daily image cap is closed by the database: a selfie takes its slot with one INSERT ... ON CONFLICT DO
    UPDATE that adds one only while the count is under the cap, so concurrent turns can never send more than
    the cap (``services.selfies.selfie_slot_take``). A selfie whose drawing fails gives its slot back.
    """

    app = models.ForeignKey("accounts.App", on_delete=models.CASCADE, related_name="+")
    character = models.ForeignKey("characters.Character", on_delete=models.CASCADE, related_name="+")
    external_user_ref = models.CharField(max_length=256)
    day = models.DateField(help_text="The end-user's local calendar day.")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["app", "character", "external_user_ref", "day"], name="selfie_day_count_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.character_id}/{self.external_user_ref}@{self.day}: {self.count}"


class Memory(TimestampedModel):
    """What one character knows about one end-user of one app, whichever session it learnt it in: a rolling
    summary, facts, and the integrator's pinned blocks. Sessions of the same (app, character, end-user) share it,
    so a new session, or an NPC in a later scenario, remembers the user.

    A persona of the molroo persona API (``persona``, an emotion session of the personas app) owns one memory
    instead of a character: its episodes, what ``perceive`` recorded, are its entries (``MemoryFact.kind``).

    ``fact_count`` is the number of current facts, so a turn reads the facts only when there are some."""

    id = prefixed_id_field("mem")
    app = models.ForeignKey("accounts.App", on_delete=models.CASCADE, related_name="+")
    character = models.ForeignKey(
        "characters.Character", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    persona = models.ForeignKey(
        "personas.PersonaSession", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    external_user_ref = models.CharField(max_length=256)
    summary = models.TextField(blank=True, default="")
    summary_updated_at = models.DateTimeField(null=True, blank=True)
    blocks = models.JSONField(
        default=list, blank=True, help_text='Pinned blocks the integrator sets: [{"label", "value", "limit"}].'
    )
    fact_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "character", "external_user_ref"], name="memory_owner_unique"),
            models.UniqueConstraint(fields=["persona"], name="memory_persona_unique"),
            models.CheckConstraint(
                condition=Q(character__isnull=False, persona__isnull=True)
                | Q(character__isnull=True, persona__isnull=False),
                name="memory_one_owner",
            ),
        ]
        indexes = [models.Index(fields=["app", "external_user_ref"], name="memory_app_user")]

    def __str__(self) -> str:
        return f"{self.character_id or self.persona_id} / {self.external_user_ref}"


class MemoryFact(models.Model):
    """One thing the character knows about the user, valid from ``valid_from`` until ``valid_to`` (open while
    current). An update closes the old fact and adds the new one; an extraction's delete closes it; an
    integrator's delete removes the row. ``source_session``/``source_cursor`` name the message it came from."""

    class Origin(models.TextChoices):
        EXTRACTED = "extracted"
        INTEGRATOR = "integrator"

    class Kind(models.TextChoices):
        FACT = "fact"
        EPISODE = "episode"  # what a persona perceived (the persona API): ``data`` holds its emotion and appraisal

    id = prefixed_id_field("fact")
    memory = models.ForeignKey(Memory, on_delete=models.CASCADE, related_name="facts")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.FACT)
    text = models.TextField()
    data = models.JSONField(
        default=dict, blank=True, help_text="An episode's fields: type, sourceEntity, importance, emotion..."
    )
    key = models.CharField(
        max_length=120, blank=True, default="", help_text="What the fact is about (user.home): a new value updates it."
    )
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.EXTRACTED)
    source_session = models.ForeignKey(Session, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source_cursor = models.BigIntegerField(null=True, blank=True)
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["valid_from", "id"]
        indexes = [
            models.Index(fields=["memory"], condition=Q(valid_to__isnull=True), name="memory_fact_current"),
        ]

    def __str__(self) -> str:
        return self.text[:60]
