"""Errors the engine raises: an evaluation that does not fit the machine, a step on a finished playthrough.

They extend the platform hierarchy (``apps.core.errors`` is plain Python), so the services let them through
and every surface renders them without translation.
"""

from apps.core.errors import Conflict, ValidationFailed


class EvaluationInvalid(ValidationFailed):
    """An evaluation names a decision or transition the current state does not have (the caller retries the
    model, then falls back)."""

    code = "npc_evaluation_invalid"
    fix = "Pick one of the current state's outgoing transitions."


class PlaythroughFinished(Conflict):
    """The playthrough has an outcome; a terminal state is never left (reset it to play again)."""

    code = "npc_playthrough_finished"
    fix = "Reset the session to play the scenario again."
