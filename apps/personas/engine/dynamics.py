"""The emotion step: appraisal -> VAD change -> regulation -> discrete label, body budget, needs, stage, trust.

Every update is bounded by construction (a change scales with the room left toward the bound it
moves to), so any sequence of valid appraisals keeps every value in range. Time between turns
decays the state exponentially toward the configured baseline.
"""

import math
from dataclasses import replace

from apps.personas.engine.appraisal import Appraisal
from apps.personas.engine.config import VAD, EmotionConfig
from apps.personas.engine.discrete import discrete_label
from apps.personas.engine.personality import Personality
from apps.personas.engine.stages import CRISIS_STAGE, RECOVERY_STRESS, stage_for
from apps.personas.engine.state import (
    REGULATION_HISTORY,
    VALENCE_HISTORY,
    DiscreteEmotion,
    EmotionState,
    Needs,
    RegulationEvent,
    Relationship,
    TurnResult,
)

STEP_GAIN = 0.5  # share of the room toward a bound that a maximal impulse covers in one turn
IMPULSE_CAP = 0.95
NEED_SETPOINT = 0.6
RELATEDNESS_ALONE = 0.3  # where relatedness drifts during absence
STRESS_HALF_LIFE = 7200.0
NEED_HALF_LIFE = 6 * 3600.0
RELATEDNESS_HALF_LIFE = 24 * 3600.0
NEGLECT_AFTER = 3 * 86400.0
LN2 = math.log(2)


def _clamp(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


def _intensity(v: float, a: float, d: float, baseline: VAD) -> float:
    dv, da, dd = v - baseline.V, a - baseline.A, d - baseline.D
    return min(1.0, math.sqrt(1.5 * dv * dv + da * da + 0.5 * dd * dd) / 1.1)


def _toward(value: float, delta: float, low: float, high: float) -> float:
    """Move by ``delta`` (a share of the room left toward the bound it points at): never leaves [low, high]."""
    if delta >= 0:
        return value + delta * (high - value)
    return value + delta * (value - low)


def emotion_state_initial(config: EmotionConfig) -> EmotionState:
    """A fresh state resting at the config's baseline: stage 1, needs at their set point, budget 0.8."""
    base = config.baseline
    primary, secondary = discrete_label(base.V, base.A, base.D)
    return EmotionState(
        vad=base,
        intensity=0.0,
        discrete=DiscreteEmotion(primary, secondary, 0.0),
        body_budget=0.8,
        stress=0.0,
        stage=1,
        crisis_experienced=False,
        resilience=0.0,
        needs=Needs(NEED_SETPOINT, NEED_SETPOINT, NEED_SETPOINT),
        regulation_active=None,
        regulation_history=(),
        valence_history=(round(base.V, 4),),
        turns=0,
    )


def emotion_decay(state: EmotionState, config: EmotionConfig, elapsed_seconds: float) -> EmotionState:
    """The state after ``elapsed_seconds`` without events.

    VAD relaxes exponentially toward the baseline at the config's per-dimension rates (negative valence
    half as fast while rumination is the active strategy); body budget refills, stress fades, autonomy
    and competence return to their set point, relatedness sinks toward a lonely level.
    """
    return _decayed(state, config, elapsed_seconds, relabel=True)


def emotion_set(state: EmotionState, config: EmotionConfig, vad: VAD) -> EmotionState:
    """The state with its emotion put at ``vad`` (clamped into range) by the caller, not by an event: the
    discrete label and the intensity follow the new emotion; needs, budget, stress and stage stay."""
    v, a, d = _clamp(vad.V, -1.0, 1.0), _clamp(vad.A, 0.0, 1.0), _clamp(vad.D, -1.0, 1.0)
    intensity = _intensity(v, a, d, config.baseline)
    primary, secondary = discrete_label(v, a, d)
    return replace(
        state, vad=VAD(v, a, d), intensity=intensity, discrete=DiscreteEmotion(primary, secondary, intensity)
    )


def _decayed(state: EmotionState, config: EmotionConfig, elapsed_seconds: float, *, relabel: bool) -> EmotionState:
    # emotion_step relabels after its own change, so it skips the (costlier) labelling here.
    t = float(elapsed_seconds)
    if not t > 0:
        return state
    t = min(t, 10 * 365 * 86400.0)
    base, rates, vad = config.baseline, config.decay_rates, state.vad
    rate_v = rates.V * (0.5 if state.regulation_active == "rumination" and vad.V < base.V else 1.0)
    v = base.V + (vad.V - base.V) * math.exp(-rate_v * t)
    a = base.A + (vad.A - base.A) * math.exp(-rates.A * t)
    d = base.D + (vad.D - base.D) * math.exp(-rates.D * t)
    intensity = _intensity(v, a, d, base)
    budget = 1.0 - (1.0 - state.body_budget) * math.exp(-config.body_budget_recovery_per_hour * t / 3600.0)
    stress = state.stress * math.exp(-LN2 * t / STRESS_HALF_LIFE)
    need_keep = math.exp(-LN2 * t / NEED_HALF_LIFE)
    related_keep = math.exp(-LN2 * t / RELATEDNESS_HALF_LIFE)
    needs = state.needs
    primary, secondary = discrete_label(v, a, d) if relabel else (state.discrete.primary, state.discrete.secondary)
    stage = stage_for(
        stress=stress, crisis_experienced=state.crisis_experienced, resilience=state.resilience, current=state.stage
    )
    return EmotionState(
        vad=VAD(v, a, d),
        intensity=intensity,
        discrete=DiscreteEmotion(primary, secondary, intensity),
        body_budget=_clamp(budget, 0.0, 1.0),
        stress=stress,
        stage=stage,
        crisis_experienced=state.crisis_experienced,
        resilience=state.resilience,
        needs=Needs(
            NEED_SETPOINT + (needs.autonomy - NEED_SETPOINT) * need_keep,
            NEED_SETPOINT + (needs.competence - NEED_SETPOINT) * need_keep,
            RELATEDNESS_ALONE + (needs.relatedness - RELATEDNESS_ALONE) * related_keep,
        ),
        regulation_active=state.regulation_active if intensity >= config.regulation_threshold else None,
        regulation_history=state.regulation_history,
        valence_history=state.valence_history,
        turns=state.turns,
    )


def _relationship_step(
    relationship: Relationship, appraisal: Appraisal, config: EmotionConfig, elapsed_seconds: float
) -> tuple[Relationship, float]:
    rel, cong, norm, agency = (
        appraisal.goal_relevance,
        appraisal.goal_congruence,
        appraisal.norm_compatibility,
        appraisal.agency,
    )
    signal = rel * (0.6 * cong + 0.4 * norm)
    if agency > 0.3:
        signal *= 0.3  # the character's own doing says little about the user
    trust = relationship.trust
    if elapsed_seconds > NEGLECT_AFTER:
        # Neglect: a moderate loss that grows with the absence, at most 0.08.
        trust -= min(0.08, 0.02 * elapsed_seconds / NEGLECT_AFTER) * trust
    if signal > 0:
        trust += config.trust_gain_rate * signal * (1.0 - trust)
    elif signal < 0:
        trust -= config.trust_loss_rate * -signal * (0.5 + 0.5 * trust)
    trust = _clamp(trust, 0.0, 1.0)
    bond = relationship.bond
    bond = _clamp(bond + 0.03 * max(0.0, signal) * (1 - bond) - 0.05 * max(0.0, -signal) * bond, 0.0, 1.0)
    negative = signal < -0.1
    positive = signal > 0.1
    consecutive = (
        relationship.consecutive_negative + 1 if negative else 0 if positive else relationship.consecutive_negative
    )
    patterns = set(relationship.patterns)
    if consecutive >= 3:
        patterns.add("repeated_hostility")
    if norm <= -0.8 and rel >= 0.7:
        patterns.add("boundary_violation")
    if -0.8 < norm <= -0.5 and agency <= -0.5 and cong > -0.6:
        patterns.add("manipulation")
    interactions = relationship.interactions + 1
    style = config.attachment_style
    if trust >= 0.75 and interactions >= 10:
        style = "secure"  # earned security
    elif trust <= 0.15 and style == "secure":
        style = "avoidant"
    return (
        Relationship(
            trust=trust,
            attachment_style=style,
            bond=bond,
            interactions=interactions,
            positive_turns=relationship.positive_turns + positive,
            negative_turns=relationship.negative_turns + negative,
            consecutive_negative=consecutive,
            patterns=tuple(sorted(patterns)),
        ),
        trust - relationship.trust,
    )


def emotion_step(
    state: EmotionState,
    appraisal: Appraisal,
    config: EmotionConfig,
    personality: Personality,
    relationship: Relationship | None = None,
    elapsed_seconds: float = 0.0,
) -> TurnResult:
    """One event: decay for ``elapsed_seconds``, then react to ``appraisal`` as this personality would.

    Pure and deterministic. Goal-congruent events raise valence and incongruent ones lower it, for every
    personality and state (regulation only absorbs part of a change, never reverses it).
    """
    previous_stage = state.stage
    state = _decayed(state, config, elapsed_seconds, relabel=False)
    trust = relationship.trust if relationship is not None else 0.5
    raw_v, dv, da, dd = _impulse(appraisal, config, personality, trust, state.body_budget)
    vad = state.vad
    v, a, d, intensity, regulation_active, history, extra_cost = _regulated(
        state, config, _toward(vad.V, dv, -1.0, 1.0), _toward(vad.A, da, 0.0, 1.0), _toward(vad.D, dd, -1.0, 1.0)
    )
    primary, secondary = discrete_label(v, a, d, appraisal, trust)
    budget = _body_budget_after(state.body_budget, config, v, a, intensity, extra_cost)
    stress = _stress_after(state.stress, raw_v, config.negativity_bias, budget)
    stage, crisis, resilience = _stage_after(state, stress, raw_v)
    new_relationship, trust_delta = None, 0.0
    if relationship is not None:
        new_relationship, trust_delta = _relationship_step(relationship, appraisal, config, elapsed_seconds)
    new_state = EmotionState(
        vad=VAD(v, a, d),
        intensity=intensity,
        discrete=DiscreteEmotion(primary, secondary, intensity),
        body_budget=budget,
        stress=stress,
        stage=stage,
        crisis_experienced=crisis,
        resilience=resilience,
        needs=_needs_after(state.needs, appraisal),
        regulation_active=regulation_active,
        regulation_history=history,
        valence_history=(*state.valence_history, round(v, 4))[-VALENCE_HISTORY:],
        turns=state.turns + 1,
    )
    return TurnResult(
        state=new_state,
        relationship=new_relationship,
        appraisal=appraisal,
        previous_stage=previous_stage,
        stage_transition=stage != previous_stage,
        emotional_overflow=intensity >= config.overflow_threshold,
        trust_delta=trust_delta,
    )


def _impulse(
    appraisal: Appraisal, config: EmotionConfig, p: Personality, trust: float, budget: float
) -> tuple[float, float, float, float]:
    """The event's push on valence, arousal and dominance (each a share of the room toward a bound, capped and
    scaled by ``STEP_GAIN``), after the raw valence signal that also drives stress: ``(raw_v, dv, da, dd)``."""
    rel = appraisal.goal_relevance
    cong = appraisal.goal_congruence
    norm = appraisal.norm_compatibility
    agency = appraisal.agency
    # Valence: goal congruence first, norms weighted by honesty-humility (OCC's standards), scaled by personality.
    raw_v = rel * (0.7 * cong + 0.3 * norm * (0.5 + p.H))
    if raw_v >= 0:
        dv = raw_v * config.sensitivity * (0.7 + 0.6 * p.E) * (0.8 + 0.4 * trust)
    else:
        depleted = max(0.0, 0.5 - budget)
        dv = raw_v * config.sensitivity * config.negativity_bias * (1.0 + depleted)
    # Arousal: relevant, unexpected, strongly (in)congruent events activate; irrelevant ones calm.
    da = rel * (0.4 * (1.0 - appraisal.expectedness) + 0.4 * abs(cong)) * config.sensitivity - 0.15 * (1.0 - rel)
    if raw_v < 0:
        da *= config.negativity_bias
    # Dominance: control over the event, success, and (for other-caused harm) low agreeableness -> anger.
    dd = rel * ((2.0 * appraisal.controllability - 1.0) * 0.5 + 0.3 * cong)
    if cong < 0:
        dd += rel * -cong * (max(0.0, -agency) * (0.5 - p.A) * 0.8 - max(0.0, agency) * 0.4)
    return (
        raw_v,
        _clamp(dv, -IMPULSE_CAP, IMPULSE_CAP) * STEP_GAIN,
        _clamp(da, -IMPULSE_CAP, IMPULSE_CAP) * STEP_GAIN,
        _clamp(dd, -IMPULSE_CAP, IMPULSE_CAP) * STEP_GAIN,
    )


# How much of the change on V, A and D each strategy can absorb (rumination absorbs nothing).
_REGULATION_WEIGHTS = {"reappraisal": (1.0, 0.5, 1.0), "suppression": (0.3, 1.0, 0.3), "distraction": (0.7, 0.7, 0.7)}


def _regulated(
    state: EmotionState, config: EmotionConfig, v: float, a: float, d: float
) -> tuple[float, float, float, float, str | None, tuple[RegulationEvent, ...], float]:
    """Regulation: above the threshold the strategy absorbs part of the change that moved away from baseline.

    Returns ``(v, a, d, intensity, active strategy, regulation history, extra body-budget cost)``.
    """
    base = config.baseline
    intensity = _intensity(v, a, d, base)
    if not intensity > config.regulation_threshold:
        return v, a, d, intensity, None, state.regulation_history, 0.0
    strategy = config.regulation_strategy
    absorbed = 0.0
    extra_cost = 0.0
    if strategy != "rumination":
        share = min(0.6, config.regulation_capacity * (0.4 + 0.6 * state.body_budget) * 0.6)
        wv, wa, wd = _REGULATION_WEIGHTS[strategy]
        vad = state.vad
        if (v - vad.V) * (v - base.V) > 0:
            v = vad.V + (v - vad.V) * (1 - share * wv)
        if (a - vad.A) * (a - base.A) > 0:
            a = vad.A + (a - vad.A) * (1 - share * wa)
        if (d - vad.D) * (d - base.D) > 0:
            d = vad.D + (d - vad.D) * (1 - share * wd)
        absorbed = share
        if strategy == "suppression":
            extra_cost = 0.02 * share  # holding it in costs energy
        intensity = _intensity(v, a, d, base)
    history = (*state.regulation_history, RegulationEvent(state.turns + 1, strategy, absorbed))[-REGULATION_HISTORY:]
    return v, a, d, intensity, strategy, history, extra_cost


def _body_budget_after(
    budget: float, config: EmotionConfig, v: float, a: float, intensity: float, extra_cost: float
) -> float:
    """Allostasis: negative, aroused turns drain the body budget; calm good ones refill it a little."""
    cost = config.body_budget_cost * (0.6 * max(0.0, -v) + 0.4 * a) * (0.5 + intensity)
    refill = 0.03 * max(0.0, v) * (1.0 - a)
    return _clamp(budget - cost - extra_cost + refill, 0.0, 1.0)


def _needs_after(needs: Needs, appraisal: Appraisal) -> Needs:
    """Self-determination theory: control feeds autonomy, success competence, others' kindness relatedness."""
    rel = appraisal.goal_relevance
    cong = appraisal.goal_congruence
    norm = appraisal.norm_compatibility
    agency = appraisal.agency
    control = appraisal.controllability
    social = rel * cong * (max(0.0, -agency) + 0.3)
    autonomy = needs.autonomy + 0.08 * rel * (control - 0.5) - 0.06 * rel * max(0.0, -norm) * max(0.0, -agency)
    competence = needs.competence + 0.06 * rel * cong * (1.0 if agency > 0 else 0.5) + 0.02 * rel * (control - 0.5)
    relatedness = needs.relatedness + 0.08 * social
    return Needs(_clamp(autonomy, 0.0, 1.0), _clamp(competence, 0.0, 1.0), _clamp(relatedness, 0.0, 1.0))


def _stress_after(stress: float, raw_v: float, negativity_bias: float, budget: float) -> float:
    """Stress load: bad events add to it (more for a negativity-biased persona), good ones relieve it, and a
    nearly empty body budget adds a little every turn."""
    if raw_v < 0:
        stress += 0.18 * -raw_v * negativity_bias
    else:
        stress -= 0.06 * raw_v
    stress += 0.05 * max(0.0, 0.3 - budget)
    return _clamp(stress, 0.0, 1.0)


def _stage_after(state: EmotionState, stress: float, raw_v: float) -> tuple[int, bool, float]:
    """The soul stage for the new stress: ``(stage, crisis experienced, resilience)``. Resilience grows with calm
    turns once a crisis is behind; reaching the crisis stages marks it lived through."""
    crisis = state.crisis_experienced
    resilience = state.resilience
    if crisis and stress < RECOVERY_STRESS:
        resilience = _clamp(resilience + 0.01 + 0.05 * max(0.0, raw_v), 0.0, 1.0)
    stage = stage_for(stress=stress, crisis_experienced=crisis, resilience=resilience, current=state.stage)
    if CRISIS_STAGE <= stage <= 9:
        crisis = True
    return stage, crisis, resilience
