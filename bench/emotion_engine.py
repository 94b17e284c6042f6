"""Emotion engine benchmark: the pure functions of ``apps.personas.engine``, in this process, no server.

Usage::

    .venv/bin/python bench/emotion_engine.py            # about 10 s
    .venv/bin/python bench/emotion_engine.py --quick    # about 2 s (noisier)

What is measured (single thread, CPython, after a warm-up), over the five presets and a fixed mix of
messages in English, Korean and Japanese, each preset keeping its own state and relationship so the
states drift through the stages like a real conversation:

- ``step``: ``emotion_step`` alone (appraisal already computed): decay for the elapsed time, VAD change,
  regulation, discrete label, body budget, needs, stage and trust. Target: under 100 µs (``turns/s`` is
  1e6 / µs on one core).
- ``appraise``: the offline lexicon appraiser, ``appraise_text``.
- ``prompt``: ``prompt_data_build`` (all three blocks and their formatted text).
- ``turn``: the three together, what one offline turn costs the engine.

``engine_section()`` returns the figures as a dict so ``bench/emotion.py`` can print them next to its HTTP
figures; run alone, this script prints them and writes ``var/bench/emotion_engine.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apps.personas import engine  # noqa: E402  (after the path setup; the engine needs no Django)

MESSAGES = (
    "Thank you so much, you really helped me today!",
    "I'm so tired of this, nothing ever works out for me.",
    "Guess what, I got the job!",
    "You are useless and I hate talking to you.",
    "hey, what are you up to?",
    "정말 고마워, 너 최고야!",
    "바보야, 꺼져",
    "ありがとう、すごく嬉しい!",
    "I'm sorry I was rude earlier.",
    "Can you help me plan a trip?",
)
TARGET_STEP_US = 100.0


def _personas():
    result = []
    for index, preset in enumerate(engine.PRESETS):
        language = ("en", "ko", "ja")[index % 3]
        personality = engine.personality_from_spec(
            {"preset": preset, "identity": {"name": preset, "language": language}}
        )
        config = engine.emotion_config_from_spec(personality, {})
        result.append([personality, config, engine.emotion_state_initial(config), engine.relationship_initial(config)])
    return result


def _timed(seconds: float, body) -> tuple[float, int]:
    """Run ``body(i)`` repeatedly for about ``seconds``; return (µs per call, calls)."""
    calls = 0
    batch = 200
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(batch):
            body(calls)
            calls += 1
        now = time.perf_counter()
        if now >= deadline:
            return (now - started) / calls * 1e6, calls


def engine_section(seconds: float = 2.0) -> dict:
    """Measure each phase for ``seconds`` (after a warm-up of a tenth of that); return the figures."""
    personas = _personas()
    appraisals = [[engine.appraise_text(text, p[0]) for text in MESSAGES] for p in personas]
    count = len(personas)

    def step(i: int) -> None:
        persona = personas[i % count]
        personality, config, state, relationship = persona
        result = engine.emotion_step(state, appraisals[i % count][i % len(MESSAGES)], config, personality,
                                     relationship, 20.0)  # fmt: skip
        persona[2], persona[3] = result.state, result.relationship

    def appraise(i: int) -> None:
        engine.appraise_text(MESSAGES[i % len(MESSAGES)], personas[i % count][0])

    def prompt(i: int) -> None:
        personality, config, state, relationship = personas[i % count]
        engine.prompt_data_build(personality, state, relationship, config)

    def turn(i: int) -> None:
        persona = personas[i % count]
        personality, config, state, relationship = persona
        appraisal = engine.appraise_text(MESSAGES[i % len(MESSAGES)], personality)
        result = engine.emotion_step(state, appraisal, config, personality, relationship, 20.0)
        persona[2], persona[3] = result.state, result.relationship
        engine.prompt_data_build(personality, result.state, result.relationship, config)

    figures = {}
    for name, body in (("step", step), ("appraise", appraise), ("prompt", prompt), ("turn", turn)):
        _timed(seconds / 10, body)
        micros, calls = _timed(seconds, body)
        figures[name] = {"us": round(micros, 2), "per_second": round(1e6 / micros), "calls": calls}
    stages = sorted({persona[2].stage for persona in personas})
    return {
        **figures,
        "target_step_us": TARGET_STEP_US,
        "step_within_target": figures["step"]["us"] < TARGET_STEP_US,
        "stages_visited_at_end": stages,
    }


def engine_print(figures: dict) -> None:
    print("Engine (pure functions, one core)")
    for name in ("step", "appraise", "prompt", "turn"):
        row = figures[name]
        print(f"  {name:<9} {row['us']:>8.2f} µs/call  {row['per_second']:>9,} /s  ({row['calls']:,} calls)")
    verdict = "within" if figures["step_within_target"] else "ABOVE"
    print(f"  engine step {figures['step']['us']:.2f} µs: {verdict} the {figures['target_step_us']:.0f} µs target;"
          f" engine turns/s (step only) {figures['step']['per_second']:,}")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring time per phase")
    parser.add_argument("--quick", action="store_true", help="0.4 s per phase")
    args = parser.parse_args(argv)
    figures = engine_section(0.4 if args.quick else args.seconds)
    figures["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    engine_print(figures)
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "emotion_engine.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
