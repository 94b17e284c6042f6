"""Request and response shapes of a session's memory, a run's prompt context and an end-user's erasure (also
their OpenAPI schema). The memory PATCH body is checked by ``conversations.services.session_memory_patch``;
the input serializers here document it."""

from django.conf import settings
from rest_framework import serializers

from apps.conversations.types import (
    BLOCK_LABEL_PATTERN,
    MEMORY_FACT_KEY_MAX_CHARS,
    MEMORY_FACT_MAX_CHARS,
    MEMORY_SUMMARY_MAX_CHARS,
)


# --- memory ------------------------------------------------------------------------------------------
class MemoryQuery(serializers.Serializer):
    include = serializers.ChoiceField(
        choices=["history"],
        required=False,
        help_text="history: also the facts that an update or the extraction closed (valid_to set).",
    )


class MemoryBlockOutput(serializers.Serializer):
    label = serializers.CharField()
    value = serializers.CharField()
    limit = serializers.IntegerField(help_text="The most characters the block may hold.")


class MemoryFactOutput(serializers.Serializer):
    id = serializers.CharField()
    text = serializers.CharField()
    key = serializers.CharField(help_text='What the fact is about (e.g. "user.home"); may be empty.')
    origin = serializers.ChoiceField(choices=["extracted", "integrator"])
    source_session_id = serializers.CharField(
        allow_null=True, help_text="The session whose message the fact was extracted from."
    )
    source_cursor = serializers.IntegerField(allow_null=True, help_text="The cursor of that message.")
    valid_from = serializers.DateTimeField()
    valid_to = serializers.DateTimeField(allow_null=True, help_text="Null while the fact is current.")


class MemoryOutput(serializers.Serializer):
    session_id = serializers.CharField()
    memory_id = serializers.CharField(
        allow_null=True, help_text="Shared by every session of this character and end-user; null until first used."
    )
    summary = serializers.CharField(help_text="The rolling summary of older messages; empty when none.")
    summary_updated_at = serializers.DateTimeField(allow_null=True)
    blocks = MemoryBlockOutput(many=True, help_text="Pinned blocks, always in the prompt.")
    facts = MemoryFactOutput(many=True, help_text="Current facts, oldest first (with include=history, all).")
    fact_count = serializers.IntegerField(help_text="How many facts are current.")


class MemoryBlockInput(serializers.Serializer):
    label = serializers.RegexField(
        BLOCK_LABEL_PATTERN, max_length=64, help_text="A slug: lowercase letters, digits, - and _, at most 64."
    )
    value = serializers.CharField(allow_null=True, allow_blank=True, help_text="The text; null deletes the block.")
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=settings.MEMORY_BLOCK_MAX_CHARS,
        help_text="Most characters the block may hold; kept when omitted (the maximum for a new block).",
    )


class MemoryFactAddInput(serializers.Serializer):
    text = serializers.CharField(max_length=MEMORY_FACT_MAX_CHARS)
    key = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MEMORY_FACT_KEY_MAX_CHARS,
        help_text="What the fact is about; a current fact with the same key is closed (replaced) by this one.",
    )


class MemoryFactUpdateInput(serializers.Serializer):
    id = serializers.CharField(help_text="A current fact; it is closed and succeeded by a new fact with this text.")
    text = serializers.CharField(max_length=MEMORY_FACT_MAX_CHARS)


class MemoryFactOperationsInput(serializers.Serializer):
    add = MemoryFactAddInput(many=True, required=False)
    update = MemoryFactUpdateInput(many=True, required=False)
    delete = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Fact ids to delete for good (closed ones too)."
    )


class MemoryPatchInput(serializers.Serializer):
    """Send only what changes. Every operation is checked before any is applied: one bad operation and nothing
    is written (422 naming its field path, e.g. facts.update[0].id)."""

    summary = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MEMORY_SUMMARY_MAX_CHARS,
        help_text='Replaces the summary; "" clears it.',
    )
    blocks = MemoryBlockInput(
        many=True,
        required=False,
        help_text=f"Blocks to set by label (at most {settings.MEMORY_MAX_BLOCKS} per memory); others stay.",
    )
    facts = MemoryFactOperationsInput(required=False)


class MemoryErasedCountsOutput(serializers.Serializer):
    facts = serializers.IntegerField(help_text="Fact rows deleted, current and closed.")
    blocks = serializers.IntegerField()
    summary = serializers.BooleanField(help_text="Whether there was a summary to delete.")


class MemoryErasedOutput(serializers.Serializer):
    session_id = serializers.CharField()
    memory_id = serializers.CharField(allow_null=True)
    erased = MemoryErasedCountsOutput()


# --- a run's prompt context ----------------------------------------------------------------------------
class ContextBudgetOutput(serializers.Serializer):
    limit = serializers.IntegerField(help_text="Prompt tokens the model's budget allowed.")
    used = serializers.IntegerField(help_text="Prompt tokens the parts sent used.")


class ContextPartOutput(serializers.Serializer):
    source = serializers.CharField(help_text="Where the text came from: persona, emotion, blocks, facts, lore, ...")
    text = serializers.CharField()
    tokens = serializers.IntegerField()


class ContextLoreOutput(serializers.Serializer):
    book = serializers.CharField()
    entry = serializers.CharField()
    content = serializers.CharField()
    reason = serializers.CharField(help_text="Why it fired: a key matched, constant, sticky, recursion, ...")
    key = serializers.CharField(allow_null=True, help_text="The key that matched, if a key fired it.")
    cursor = serializers.IntegerField(allow_null=True, help_text="The cursor of the message it matched in.")
    excerpt = serializers.CharField(allow_null=True, help_text="The words around the match.")


class ContextFactOutput(serializers.Serializer):
    id = serializers.CharField()
    text = serializers.CharField()
    score = serializers.FloatField(help_text="How relevant to the message the fact was judged.")


class ContextBlockOutput(serializers.Serializer):
    label = serializers.CharField()
    value = serializers.CharField()
    tokens = serializers.IntegerField()


class ContextSummaryOutput(serializers.Serializer):
    text = serializers.CharField()
    tokens = serializers.IntegerField()


class RunContextOutput(serializers.Serializer):
    """The trace as the turn recorded it; more keys may be added."""

    session_id = serializers.CharField()
    run_ref = serializers.CharField()
    model = serializers.CharField(required=False)
    tokenizer = serializers.CharField(required=False, help_text="The tokenizer the tokens were counted with.")
    budget = ContextBudgetOutput(required=False)
    parts = ContextPartOutput(many=True, required=False, help_text="The prompt, in the order it was sent.")
    lore = ContextLoreOutput(many=True, required=False, help_text="Lorebook entries that fired, and why.")
    facts = ContextFactOutput(many=True, required=False, help_text="Facts recalled for this message.")
    blocks = ContextBlockOutput(many=True, required=False)
    trimmed = ContextPartOutput(many=True, required=False, help_text="What the token budget cut, lowest first.")
    summary = ContextSummaryOutput(required=False, allow_null=True)


# --- erasing an end-user -------------------------------------------------------------------------------
class ExternalUserErasedCountsOutput(serializers.Serializer):
    sessions = serializers.IntegerField()
    events = serializers.IntegerField()
    runs = serializers.IntegerField()
    memories = serializers.IntegerField(help_text="One per character that knew the user.")
    memory_facts = serializers.IntegerField()
    emotion_sessions = serializers.IntegerField()
    emotion_relationships = serializers.IntegerField()
    npc_playthroughs = serializers.IntegerField()
    generated_images = serializers.IntegerField(help_text="Rows; their files are deleted after commit.")
    selfie_day_counts = serializers.IntegerField()
    budget_policies = serializers.IntegerField()
    telegram_chats = serializers.IntegerField()
    telegram_deliveries = serializers.IntegerField()
    webhook_endpoints = serializers.IntegerField()
    webhook_deliveries = serializers.IntegerField()
    idempotency_records = serializers.IntegerField()


class ExternalUserAnonymisedCountsOutput(serializers.Serializer):
    usage_records = serializers.IntegerField(
        help_text='Kept for billing with the user, session and run references replaced ("erased").'
    )


class ExternalUserErasedOutput(serializers.Serializer):
    external_user_ref = serializers.CharField()
    erased = ExternalUserErasedCountsOutput()
    anonymised = ExternalUserAnonymisedCountsOutput()
