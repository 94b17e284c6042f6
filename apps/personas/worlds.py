"""Worlds' pure parts: the default actions every world offers, and how a witness takes in what it saw.

An action is an appraisal vector (molroo's six dimensions) from the target's point of view; a custom action
of a world (``WorldAction``) with the same name replaces the default.
"""

from apps.personas.engine import Appraisal


def _vector(relevance, congruence, expectedness, control, agency, norm) -> dict[str, float]:
    return {
        "goal_relevance": relevance,
        "goal_congruence": congruence,
        "expectedness": expectedness,
        "controllability": control,
        "agency": agency,
        "norm_compatibility": norm,
    }


DEFAULT_ACTIONS: dict[str, tuple[str, dict[str, float]]] = {
    "greet": ("Say hello.", _vector(0.3, 0.3, 0.8, 0.6, -0.3, 0.4)),
    "compliment": ("Say something kind about them.", _vector(0.7, 0.8, 0.5, 0.5, -0.6, 0.7)),
    "help": ("Help them with what they are doing.", _vector(0.8, 0.8, 0.4, 0.6, -0.7, 0.8)),
    "gift": ("Give them something.", _vector(0.7, 0.9, 0.2, 0.5, -0.8, 0.7)),
    "apologize": ("Say sorry.", _vector(0.6, 0.5, 0.4, 0.6, -0.6, 0.6)),
    "flirt": ("Flirt with them.", _vector(0.6, 0.5, 0.3, 0.5, -0.6, 0.2)),
    "ignore": ("Ignore them.", _vector(0.4, -0.4, 0.5, 0.4, -0.5, -0.3)),
    "criticize": ("Find fault with them.", _vector(0.7, -0.6, 0.4, 0.4, -0.7, -0.3)),
    "insult": ("Insult them.", _vector(0.8, -0.9, 0.3, 0.3, -0.9, -0.9)),
    "threaten": ("Threaten them.", _vector(0.9, -0.9, 0.2, 0.1, -0.9, -1.0)),
}

WITNESS_RELEVANCE = 0.5  # a witness cares half as much as the target


def witness_appraisal(appraisal: Appraisal, *, sympathy: float) -> Appraisal:
    """What seeing ``appraisal`` happen to someone else means to a witness: less relevant, and as good or bad
    as the witness's ``sympathy`` with the target (-1..1: a rival's misfortune can please) makes it."""
    return Appraisal(
        goal_relevance=appraisal.goal_relevance * WITNESS_RELEVANCE,
        goal_congruence=max(-1.0, min(1.0, appraisal.goal_congruence * sympathy)),
        expectedness=appraisal.expectedness,
        controllability=appraisal.controllability,
        agency=appraisal.agency,
        norm_compatibility=appraisal.norm_compatibility,
    )
