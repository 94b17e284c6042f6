"""Writes and workflows of the conversations app, one topic per module."""

from apps.conversations.services.completions import CompletionStream, completion_stream
from apps.conversations.services.deltas import delta_listen
from apps.conversations.services.erasure import ConversationsErased, external_user_conversations_erase
from apps.conversations.services.events import NewEvent, cursor_advance, events_append
from apps.conversations.services.idempotency import (
    idempotency_answer_save,
    idempotency_claim,
    idempotency_records_purge,
    idempotent_answer,
)
from apps.conversations.services.image_requests import (
    character_avatar_generate,
    character_create_with_avatar,
    image_generate,
)
from apps.conversations.services.memory import (
    SummaryOutcome,
    memory_ensure,
    memory_summarise,
    session_memory_attach,
)
from apps.conversations.services.memory_edits import (
    MemoryErased,
    memory_changes_validate,
    session_memory_erase,
    session_memory_patch,
)
from apps.conversations.services.messages import SendResult, message_send
from apps.conversations.services.npc_sessions import NpcSessionOpened, npc_session_reset, npc_session_start
from apps.conversations.services.npc_turns import NpcTurn, NpcTurnStream, npc_message_send, npc_message_stream
from apps.conversations.services.persona_memory import Perception, persona_memory_ensure, persona_perceive
from apps.conversations.services.proactive_scheduling import (
    ProactiveTestResult,
    ScanResult,
    proactive_reschedule,
    proactive_scan,
    proactive_test_send,
    session_proactive_update,
)
from apps.conversations.services.run_retries import RETRIABLE_ERROR_CODES, runs_retry
from apps.conversations.services.runs import RunOutcome, run_execute, run_steps, runs_recover
from apps.conversations.services.selfies import (
    PROBE_TYPES,
    ImageJobOutcome,
    image_job_execute,
    image_probe_start,
    images_recover,
)
from apps.conversations.services.sessions import (
    session_create,
    session_latest_or_create,
    session_of_end_user_ensure,
    session_stream_token_issue,
    session_version_follow,
    session_version_pin,
)
from apps.conversations.services.transcript import (
    TranscriptMessage,
    session_create_with_transcript,
    transcript_append,
)
from apps.conversations.services.turn_prompt import TurnOptions
from apps.conversations.services.turns import TurnStream, message_turn

__all__ = [
    "idempotent_answer",
    "Perception",
    "persona_memory_ensure",
    "persona_perceive",
    "SummaryOutcome",
    "memory_ensure",
    "memory_summarise",
    "session_memory_attach",
    "CompletionStream",
    "ConversationsErased",
    "MemoryErased",
    "external_user_conversations_erase",
    "memory_changes_validate",
    "session_memory_erase",
    "session_memory_patch",
    "TurnOptions",
    "TurnStream",
    "completion_stream",
    "delta_listen",
    "message_turn",
    "run_steps",
    "ImageJobOutcome",
    "NewEvent",
    "PROBE_TYPES",
    "RETRIABLE_ERROR_CODES",
    "NpcSessionOpened",
    "NpcTurn",
    "NpcTurnStream",
    "ProactiveTestResult",
    "ScanResult",
    "RunOutcome",
    "SendResult",
    "TranscriptMessage",
    "character_avatar_generate",
    "character_create_with_avatar",
    "cursor_advance",
    "events_append",
    "idempotency_answer_save",
    "idempotency_claim",
    "idempotency_records_purge",
    "image_generate",
    "image_job_execute",
    "images_recover",
    "image_probe_start",
    "message_send",
    "npc_message_send",
    "npc_message_stream",
    "npc_session_reset",
    "npc_session_start",
    "proactive_reschedule",
    "proactive_scan",
    "proactive_test_send",
    "run_execute",
    "runs_recover",
    "runs_retry",
    "session_create",
    "session_create_with_transcript",
    "session_latest_or_create",
    "session_of_end_user_ensure",
    "session_version_follow",
    "session_version_pin",
    "session_proactive_update",
    "session_stream_token_issue",
    "transcript_append",
]
