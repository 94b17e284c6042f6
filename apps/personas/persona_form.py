"""The persona page's form: a molroo persona body as inputs instead of one JSON textarea.

A writer picks a preset, moves the six HEXACO traits (facets folded under each), fills the identity, lists
goals and overrides emotion-config options; whatever the inputs do not cover stays editable as JSON
(``extra``). The form only maps inputs to the body and the engine's error paths back to inputs: the body is
checked by ``specs.character_persona_validate``, the same rules as before, and nothing else.

What the form writes is the smallest body that means what the writer set: with a preset, only the traits,
facets and goals that differ from the preset's; facets only where they differ from their trait.
"""

from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from apps.personas import engine
from apps.personas.models import CharacterPersona
from apps.personas.persona_widgets import RangeInput, RowsField, RowsWidget
from apps.personas.specs import character_persona_validate

TRAIT_NAMES = {
    "O": "Openness",
    "C": "Conscientiousness",
    "E": "Extraversion",
    "A": "Agreeableness",
    "N": "Neuroticism (emotionality)",
    "H": "Honesty-humility",
}
TRAIT_HELP = {
    "O": "Curiosity, imagination, taste for the unusual.",
    "C": "Order, diligence, self-control: better emotion regulation.",
    "E": "Sociability, boldness, liveliness: a brighter, more dominant resting mood.",
    "A": "Forgiveness, gentleness, patience: warmer mood, faster trust.",
    "N": "Fear, anxiety, sentimentality: stronger, slower-fading negative reactions.",
    "H": "Sincerity, fairness, modesty (presets leave it at the neutral 0.5).",
}
IDENTITY_TEXT = ("name", "speaking_style", "role", "language")
IDENTITY_HELP = {
    "name": "Defaults to the character's display name.",
    "speaking_style": 'How the character talks, e.g. "dry, short sentences".',
    "role": 'What the character is to the user, e.g. "mentor".',
    "language": "Language of the prompt data (en, ko, ja...); defaults to the character's locale.",
    "core_values": "What the character cares about, one value a row.",
}
# emotion_config fields offered as inputs: form field name -> path in the body's emotion_config.
EMOTION_CONFIG_HELP = {
    "baseline.V": "Resting valence (-1 unpleasant .. 1 pleasant); blank: the character's baseline, else derived.",
    "baseline.A": "Resting arousal (0 calm .. 1 activated).",
    "baseline.D": "Resting dominance (-1 submissive .. 1 dominant).",
    "sensitivity": "Overall reactivity: multiplies every appraisal.",
    "negativity_bias": "Extra weight of goal-incongruent events.",
    "decay_rates.V": "Per-second decay of valence toward the resting mood (half-life = ln 2 / rate).",
    "decay_rates.A": "Per-second decay of arousal.",
    "decay_rates.D": "Per-second decay of dominance.",
    "regulation.strategy": "How the character regulates strong emotion.",
    "regulation.capacity": "Share of an over-threshold change the strategy can absorb.",
    "regulation.threshold": "Emotion intensity above which regulation switches on.",
    "body_budget.recovery_per_hour": "How fast the body budget recovers.",
    "body_budget.cost": "How much one intense negative turn drains the budget.",
    "trust.initial": "Trust toward a new user.",
    "trust.gain_rate": "Trust won per good turn.",
    "trust.loss_rate": "Trust lost per bad turn (at least twice the gain rate).",
    "attachment_style": "How the character bonds.",
    "overflow_threshold": "Intensity at which a turn counts as an emotional overflow.",
}
EMOTION_CONFIG_FIELDS = {f"ec_{path.replace('.', '__')}": path for path in EMOTION_CONFIG_HELP}
FACET_EPSILON = 0.0005  # a facet this close to its trait follows the trait (range inputs step by 0.01)


def trait_field(domain: str) -> str:
    return f"trait_{domain}"


def facet_field(facet: str) -> str:
    return f"facet_{facet}"


def _preset_choices() -> list[tuple[str, str]]:
    return [("", "— custom (no preset) —"), *((preset.id, preset.name) for preset in engine.PRESETS.values())]


def _emotion_config_field(path: str) -> forms.Field:
    help_text = EMOTION_CONFIG_HELP[path]
    if path in engine.EMOTION_CONFIG_CHOICES:
        choices = [("", "derived from the personality"), *((c, c) for c in engine.EMOTION_CONFIG_CHOICES[path])]
        return forms.ChoiceField(choices=choices, required=False, help_text=help_text)
    low, high = engine.EMOTION_CONFIG_RANGES[path]
    step = "any" if path.startswith("decay_rates") else "0.01"
    widget = forms.NumberInput(attrs={"min": f"{low:g}", "max": f"{high:g}", "step": step})
    return forms.FloatField(required=False, widget=widget, help_text=f"{help_text} [{low:g} .. {high:g}]")


def _path_get(data: Mapping[str, Any], path: str) -> Any:
    for key in path.split("."):
        if not isinstance(data, Mapping) or key not in data:
            return None
        data = data[key]
    return data


def _path_set(data: dict[str, Any], path: str, value: Any) -> None:
    *groups, key = path.split(".")
    for group in groups:
        data = data.setdefault(group, {})
    data[key] = value


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def spec_uncovered(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a stored body no input shows (shown in the JSON view, kept on save)."""
    covered_top = {"preset", "goals"}
    extra: dict[str, Any] = {key: value for key, value in spec.items() if key not in covered_top}
    personality = extra.pop("personality", None)
    if isinstance(personality, Mapping):
        rest = {key: value for key, value in personality.items() if key not in engine.DOMAINS and key != "facets"}
        facets = personality.get("facets")
        if isinstance(facets, Mapping):
            known = {name for names in engine.FACETS.values() for name in names}
            unknown = {name: value for name, value in facets.items() if name not in known}
            if unknown:
                rest["facets"] = unknown
        elif facets is not None:
            rest["facets"] = facets
        if rest:
            extra["personality"] = rest
    elif personality is not None:
        extra["personality"] = personality
    identity = extra.pop("identity", None)
    if isinstance(identity, Mapping):
        rest = {key: value for key, value in identity.items() if key not in (*IDENTITY_TEXT, "core_values")}
        if rest:
            extra["identity"] = rest
    elif identity is not None:
        extra["identity"] = identity
    config = extra.pop("emotion_config", None)
    if isinstance(config, Mapping):
        rest = _config_uncovered(config, "")
        if rest:
            extra["emotion_config"] = rest
    elif config is not None:
        extra["emotion_config"] = config
    return extra


def _config_uncovered(config: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    rest: dict[str, Any] = {}
    for key, value in config.items():
        path = f"{prefix}{key}"
        if path in EMOTION_CONFIG_HELP:
            continue
        if isinstance(value, Mapping) and not prefix:
            nested = _config_uncovered(value, f"{path}.")
            if nested:
                rest[key] = nested
        else:
            rest[key] = value
    return rest


def _generated_fields() -> dict[str, forms.Field]:
    """The six traits with their facets (range inputs) and the emotion-config options (typed inputs)."""
    fields: dict[str, forms.Field] = {}
    for domain in engine.DOMAINS:
        fields[trait_field(domain)] = forms.FloatField(
            label=TRAIT_NAMES[domain], required=False, widget=RangeInput(), help_text=TRAIT_HELP[domain]
        )
        for facet in engine.FACETS[domain]:
            fields[facet_field(facet)] = forms.FloatField(
                label=facet.replace("_", " ").capitalize(), required=False, widget=RangeInput({"data-trait": domain})
            )
    for name, path in EMOTION_CONFIG_FIELDS.items():
        fields[name] = _emotion_config_field(path)
    return fields


class _PersonaInputs(forms.ModelForm):
    """Inputs for a persona body; ``clean`` builds the body (``self.spec``) and checks it with the engine."""

    preset = forms.ChoiceField(
        choices=_preset_choices,
        required=False,
        help_text="Start from a built-in persona: choosing one fills the inputs below; what you change wins.",
    )
    identity_name = forms.CharField(label="Name", required=False, help_text=IDENTITY_HELP["name"])
    identity_speaking_style = forms.CharField(
        label="Speaking style", required=False, help_text=IDENTITY_HELP["speaking_style"]
    )
    identity_role = forms.CharField(label="Role", required=False, help_text=IDENTITY_HELP["role"])
    identity_language = forms.CharField(
        label="Language", required=False, max_length=16, help_text=IDENTITY_HELP["language"]
    )
    identity_core_values = RowsField(
        label="Core values",
        required=False,
        help_text=IDENTITY_HELP["core_values"],
        widget=RowsWidget(add_label="Add a value"),
    )
    goals = RowsField(
        required=False,
        help_text="What the character wants from conversations, one goal a row (appraisal weighs messages "
        "against them). With a preset, its goals unless you change them.",
        widget=RowsWidget(add_label="Add a goal"),
    )
    extra = forms.JSONField(
        label="Other fields (JSON)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80, "class": "vLargeTextField"}),
        help_text="Anything the inputs above do not cover, as a JSON object merged into the persona body "
        '(e.g. {"identity": {"...": "..."}}); the inputs win where both set a field.',
    )

    class Meta:
        model = CharacterPersona
        fields = ("character",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.spec: dict[str, Any] = {}
        if not self.is_bound:
            self._initial_from(self.instance.spec if self.instance.pk else {})

    # -- stored body -> inputs ------------------------------------------------------------------------------

    def _initial_from(self, spec: Mapping[str, Any]) -> None:
        spec = spec if isinstance(spec, Mapping) else {}
        preset = engine.PRESETS.get(spec.get("preset")) if isinstance(spec.get("preset"), str) else None
        personality = spec.get("personality") if isinstance(spec.get("personality"), Mapping) else {}
        facets = personality.get("facets") if isinstance(personality.get("facets"), Mapping) else {}
        initial = self.initial
        initial["preset"] = preset.id if preset else ""
        for domain in engine.DOMAINS:
            value = personality.get(domain)
            if not isinstance(value, int | float):
                value = preset.personality.get(domain, engine.NEUTRAL_TRAIT) if preset else engine.NEUTRAL_TRAIT
            initial[trait_field(domain)] = value
            for facet in engine.FACETS[domain]:
                own = facets.get(facet)
                if isinstance(own, int | float):
                    initial[facet_field(facet)] = own
                    self.fields[facet_field(facet)].widget.attrs["data-own"] = "1"
                else:
                    initial[facet_field(facet)] = value
        identity = spec.get("identity") if isinstance(spec.get("identity"), Mapping) else {}
        for key in IDENTITY_TEXT:
            initial[f"identity_{key}"] = identity.get(key) or ""
        values = identity.get("core_values")
        initial["identity_core_values"] = list(values) if isinstance(values, list) else []
        goals = spec.get("goals") if "goals" in spec else (list(preset.goals) if preset else [])
        initial["goals"] = list(goals) if isinstance(goals, list | tuple) else []
        config = spec.get("emotion_config") if isinstance(spec.get("emotion_config"), Mapping) else {}
        for name, path in EMOTION_CONFIG_FIELDS.items():
            value = _path_get(config, path)
            initial[name] = "" if value is None else value
        initial["extra"] = spec_uncovered(spec) or None

    # -- inputs -> body -------------------------------------------------------------------------------------

    def clean_extra(self) -> dict[str, Any]:
        extra = self.cleaned_data.get("extra")
        if extra in (None, ""):
            return {}
        if not isinstance(extra, dict):
            raise ValidationError("Must be a JSON object.")
        return extra

    def spec_build(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The persona body the inputs mean, merged over ``extra``."""
        spec: dict[str, Any] = {}
        preset = engine.PRESETS.get(data.get("preset") or "")
        if preset is not None:
            spec["preset"] = preset.id
        traits: dict[str, Any] = {}
        facets: dict[str, float] = {}
        for domain in engine.DOMAINS:
            value = data.get(trait_field(domain))
            if value is not None:
                preset_value = preset.personality.get(domain, engine.NEUTRAL_TRAIT) if preset else None
                if preset is None or abs(value - preset_value) > FACET_EPSILON:
                    traits[domain] = value
            domain_value = value if value is not None else engine.NEUTRAL_TRAIT
            for facet in engine.FACETS[domain]:
                own = data.get(facet_field(facet))
                if own is not None and abs(own - domain_value) > FACET_EPSILON:
                    facets[facet] = own
        if facets:
            traits["facets"] = facets
        if traits:
            spec["personality"] = traits
        identity: dict[str, Any] = {
            key: data[f"identity_{key}"] for key in IDENTITY_TEXT if data.get(f"identity_{key}")
        }
        if data.get("identity_core_values"):
            identity["core_values"] = data["identity_core_values"]
        if identity:
            spec["identity"] = identity
        goals = data.get("goals") or []
        # With a preset, its goals unless changed (an emptied list clears them); without one, the goals given.
        if (goals != list(preset.goals)) if preset is not None else bool(goals):
            spec["goals"] = goals
        config: dict[str, Any] = {}
        for name, path in EMOTION_CONFIG_FIELDS.items():
            value = data.get(name)
            if value not in (None, ""):
                _path_set(config, path, value)
        if config:
            spec["emotion_config"] = config
        return _deep_merge(data.get("extra") or {}, spec)

    def clean(self):
        cleaned = super().clean()
        if any(name != "character" for name in self.errors):
            return cleaned  # an input is already wrong (e.g. extra is not JSON): nothing to build
        self.spec = self.spec_build(cleaned)
        try:
            character_persona_validate(self.spec)
        except engine.UnknownPreset as error:
            self.add_error("preset", f"Unknown preset {error.preset!r}; one of: {', '.join(engine.PRESETS)}.")
        except engine.EngineInputInvalid as error:
            for path, problems in error.fields.items():
                field = self.field_for_path(path)
                self.add_error(
                    field, [f"{path}: {problem}" if field in (None, "extra") else problem for problem in problems]
                )
        return cleaned

    def field_for_path(self, path: str) -> str | None:
        """The input an engine error path belongs to (``personality.N`` -> ``trait_N``); ``extra`` for the rest."""
        head, _, rest = path.partition(".")
        base = rest.split("[", 1)[0]
        if head == "preset":
            return "preset"
        if head.startswith("goals"):
            return "goals"
        if head == "personality" and base in engine.DOMAINS:
            return trait_field(base)
        if head == "personality" and base.startswith("facets."):
            name = facet_field(base.removeprefix("facets."))
            return name if name in self.fields else "extra"
        if head == "identity" and base in (*IDENTITY_TEXT, "core_values"):
            return f"identity_{base}"
        if head == "emotion_config":
            name = f"ec_{base.replace('.', '__')}"
            return name if name in self.fields else "extra"
        return "extra"

    def save(self, commit=True):
        self.instance.spec = self.spec
        return super().save(commit)


# Declared (not added in __init__) so that the admin's fieldsets may name them.
CharacterPersonaForm = type(_PersonaInputs)(
    "CharacterPersonaForm",
    (_PersonaInputs,),
    {"__module__": __name__, "__doc__": _PersonaInputs.__doc__, **_generated_fields()},
)
