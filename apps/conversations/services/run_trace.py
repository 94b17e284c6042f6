"""What a turn's prompt was made of and what it knew, for a caller that asked (the studio's ``verbose``)."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apps.conversations.models import Run
    from apps.conversations.services.turn_prompt import Turn


def run_trace(*, run: "Run", turn: "Turn", timings: dict[str, float]) -> dict[str, Any]:
    """What a turn's prompt was made of and what it knew (the studio's ``verbose``): each prompt part with its
    source, the emotion the message led to and how it was appraised, the scenario the session plays, timings."""
    names = {"persona": "character"}  # the studio's name for the sheet
    kept = turn.fitted.kept if turn.fitted is not None else []
    parts = [
        {"source": names.get(part.source, part.source), "role": part.role, "text": part.text, "tokens": part.tokens}
        for part in kept
    ]
    emotion = None
    if turn.emotion is not None:
        emotion = {
            "appraisal": turn.emotion.appraisal,
            "appraisal_source": turn.emotion.appraisal_source,
            "prompt_data": turn.emotion.prompt_data,
        }
    return {
        "model": turn.spec.name if turn.spec else "",
        "prompt": parts,
        "emotion": emotion,
        "scenario": {"playthrough_id": run.session.playthrough_id} if run.session.playthrough_id else None,
        "selfie_possible": turn.selfie is not None,
        "timings_ms": timings,
    }
