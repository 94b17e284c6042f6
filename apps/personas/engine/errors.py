"""Errors the engine raises for bad persona, config or appraisal input.

They extend the platform hierarchy (``apps.core.errors`` is plain Python) so every surface renders
them without translation: the native surface as ``validation_error``/``invalid_preset``, the molroo
surface as ``VALIDATION_ERROR``/``INVALID_PRESET``.
"""

from apps.core.errors import ValidationFailed


class EngineInputInvalid(ValidationFailed):
    """A persona, emotion_config or appraisal field is missing, of the wrong type or out of range."""

    fix = "Correct the fields named in the message (traits and most dimensions are numbers in [0, 1])."


class UnknownPreset(ValidationFailed):
    code = "invalid_preset"
    fix = "Use one of the preset ids listed by GET /emotion/v1/presets."

    def __init__(self, preset: str) -> None:
        super().__init__({"preset": [f"Unknown preset {preset!r}."]}, message=f"Unknown preset {preset!r}.")
        self.preset = preset
