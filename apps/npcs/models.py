"""NPCs and their scenarios: machines of states and transitions, links between machines, output variables,
and one playthrough per (app, NPC, machine, player session).

The engine (``apps.npcs.engine``) is pure; these rows are what writers author (the admin, ``creator/save``)
and where a player's progress lives between messages. Keys (machine, state, variable) are the author's
names, unique within their parent; ids are ours.
"""

from django.db import models

from apps.core.models import TimestampedModel, prefixed_id_field


class NPC(TimestampedModel):
    """A character that players talk to through scenarios. Its name, description and identity prompt are
    the character's content; ``is_public`` NPCs can be listed and played by every app."""

    id = prefixed_id_field("npc")
    app = models.ForeignKey("accounts.App", on_delete=models.CASCADE, related_name="npcs")
    character = models.OneToOneField("characters.Character", on_delete=models.CASCADE, related_name="npc")
    is_public = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "NPC"
        indexes = [
            models.Index(fields=["app", "-created_at", "-id"], name="npc_app_recent"),
            models.Index(fields=["-created_at", "-id"], name="npc_public_recent", condition=models.Q(is_public=True)),
        ]

    def __str__(self) -> str:
        return self.id


class Machine(TimestampedModel):
    """A scenario: an objective played through states until a terminal one (or a kick out) ends it."""

    class ScoringMode(models.TextChoices):
        SCORING = "scoring"
        PASS_FAIL = "pass_fail"

    id = prefixed_id_field("mach")
    npc = models.ForeignKey(NPC, on_delete=models.CASCADE, related_name="machines")
    key = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    objective = models.TextField(blank=True)
    scoring_mode = models.CharField(max_length=16, choices=ScoringMode.choices, default=ScoringMode.SCORING)
    is_entry = models.BooleanField(default=False, help_text="Always available to players.")
    is_published = models.BooleanField(default=False, help_text="Only published machines are playable via the SDK.")
    position = models.PositiveIntegerField(default=0, help_text="Order in the NPC's list (the first is primary).")

    class Meta:
        ordering = ["npc", "position", "created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["npc", "key"], name="npc_machine_key_unique")]

    def __str__(self) -> str:
        return self.key


class State(TimestampedModel):
    class Terminal(models.TextChoices):
        WIN = "win"
        LOSE = "lose"

    id = prefixed_id_field("nst")
    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="states")
    key = models.CharField(max_length=64)
    name = models.CharField(max_length=200, blank=True)
    is_initial = models.BooleanField(default=False)
    terminal = models.CharField(
        max_length=8, choices=Terminal.choices, blank=True, default="", help_text="Blank: not terminal."
    )
    system_prompt = models.TextField(blank=True)
    evaluation_criteria = models.TextField(blank=True)
    follow_up_condition = models.TextField(blank=True)
    redirect_limit = models.PositiveSmallIntegerField(default=3)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["machine", "position", "created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["machine", "key"], name="npc_state_key_unique")]

    def __str__(self) -> str:
        return self.key


class Transition(TimestampedModel):
    """From a state to a state with a decision; ``matchers`` decide it without the model when they match
    (``[{"type": "keywords", "keywords": [...]}, {"type": "regex", "pattern": ...},
    {"type": "variable", "key": ..., "op": ..., "value": ...}]``)."""

    class Decision(models.TextChoices):
        PASS = "pass"
        REDIRECT = "redirect"
        REJECT = "reject"
        KICK_OUT = "kick_out"

    id = prefixed_id_field("ntr")
    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.ForeignKey(State, on_delete=models.CASCADE, related_name="outgoing")
    to_state = models.ForeignKey(State, on_delete=models.CASCADE, related_name="incoming")
    decision_type = models.CharField(max_length=16, choices=Decision.choices)
    score_delta = models.IntegerField(default=0)
    priority = models.IntegerField(default=0, help_text="Lower values are evaluated first.")
    condition = models.TextField(blank=True, help_text="When this transition applies, in words, for the model.")
    matchers = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["machine", "priority", "position", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.decision_type} {self.from_state_id} -> {self.to_state_id}"


class MachineLink(TimestampedModel):
    class Condition(models.TextChoices):
        OUTCOME = "outcome"
        SCORE_GTE = "score_gte"
        SCORE_LTE = "score_lte"
        ALWAYS = "always"

    id = prefixed_id_field("nlk")
    npc = models.ForeignKey(NPC, on_delete=models.CASCADE, related_name="machine_links")
    from_machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="links_out")
    to_machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="links_in")
    condition_type = models.CharField(max_length=16, choices=Condition.choices)
    condition_value = models.JSONField(null=True, blank=True, help_text="An outcome (ACCEPT, ...) or a score.")
    auto_advance = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["npc", "position", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_machine_id} -> {self.to_machine_id}"


class Variable(TimestampedModel):
    """An output variable, extracted from the conversation when the machine completes."""

    id = prefixed_id_field("nvar")
    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="variables")
    key = models.CharField(max_length=64)
    extraction_prompt = models.TextField()
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["machine", "position", "created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["machine", "key"], name="npc_variable_key_unique")]

    def __str__(self) -> str:
        return self.key


class Playthrough(TimestampedModel):
    """One player's progress in one machine; ``player_session_id`` is the client's ``user_session_id``.

    The player belongs to the app that plays: ``app`` is the playing app, which is the NPC's own app or, for a
    public NPC, any app. Two apps' players with the same ``player_session_id`` are two playthroughs, so another
    app playing a public NPC never touches the owner's players. A step locks the row (``select_for_update``),
    so two messages of one player apply one after the other.
    """

    class Outcome(models.TextChoices):
        ACCEPT = "ACCEPT"
        REJECT = "REJECT"
        KICK_OUT = "KICK_OUT"

    id = prefixed_id_field("play")
    app = models.ForeignKey(
        "accounts.App", on_delete=models.CASCADE, related_name="playthroughs", help_text="The app whose player this is."
    )
    npc = models.ForeignKey(NPC, on_delete=models.CASCADE, related_name="playthroughs")
    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="playthroughs")
    player_session_id = models.CharField(max_length=256)
    player_name = models.CharField(max_length=200, blank=True)
    player_gender = models.CharField(max_length=32, blank=True)
    current_state = models.ForeignKey(State, on_delete=models.PROTECT, related_name="+")
    score = models.IntegerField(default=0)
    outcome = models.CharField(
        max_length=16, choices=Outcome.choices, blank=True, default="", help_text="Blank: playing."
    )
    redirect_counts = models.JSONField(default=dict, blank=True, help_text="Redirects used, by state key.")
    variables = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField()
    last_message_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # Its columns in this order also serve the reads by (app, player) (an erasure) and by (app, player, NPC)
        # (a player's machines), so the constraint is the only index they need.
        constraints = [
            models.UniqueConstraint(
                fields=["app", "player_session_id", "npc", "machine"], name="npc_playthrough_one_per_player"
            )
        ]

    def __str__(self) -> str:
        return f"{self.player_session_id} in {self.machine_id}"
