"""Plain values of the conversations app that other apps and the surfaces use: what state a run is in and
what kind of turn it is, and the declared shape of a proactive controls update (``CONTROLS_UPDATE``, defined
with the controls and validated by ``services.session_proactive_update``; the native surface documents it)."""

from django.db import models

from apps.conversations.proactive_controls import CONTROLS_UPDATE, QUIET_HOURS


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RunKind(models.TextChoices):
    REPLY = "reply"
    COLD_INITIATE = "cold_initiate"
    SESSION_RESUME = "session_resume"


# Limits of an integrator's memory edit (``services.session_memory_patch``; blocks use MEMORY_BLOCK_MAX_CHARS).
MEMORY_FACT_MAX_CHARS = 1000
MEMORY_FACT_KEY_MAX_CHARS = 120  # MemoryFact.key
MEMORY_SUMMARY_MAX_CHARS = 20_000
BLOCK_LABEL_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"

__all__ = [
    "BLOCK_LABEL_PATTERN",
    "CONTROLS_UPDATE",
    "MEMORY_FACT_KEY_MAX_CHARS",
    "MEMORY_FACT_MAX_CHARS",
    "MEMORY_SUMMARY_MAX_CHARS",
    "QUIET_HOURS",
    "RunKind",
    "RunStatus",
]
