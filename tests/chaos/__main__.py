"""``python -m tests.chaos [--full] [scenario ...]``: run chaos scenarios and print a summary table.

Needs DATABASE_URL (PostgreSQL) and REDIS_URL like the production stack; ``make chaos`` runs every scenario's
full variant. Exits non-zero when any scenario failed.
"""

import argparse
import os
import sys
import time

import django


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from tests.chaos.outage_scenarios import OUTAGE_SCENARIOS
    from tests.chaos.scenarios import SCENARIOS

    SCENARIOS = {**SCENARIOS, **OUTAGE_SCENARIOS}

    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", choices=[[], *SCENARIOS], help="default: all")
    parser.add_argument("--full", action="store_true", help="the full variants (else the fast ones)")
    args = parser.parse_args(argv)
    results = []
    for name in args.scenarios or list(SCENARIOS):
        started = time.monotonic()
        print(f"\n### {name} ({'full' if args.full else 'fast'})", flush=True)
        try:
            result = SCENARIOS[name](full=args.full)
        except Exception as error:  # one broken scenario must not hide the others' figures
            print(f"  ERROR: {error!r}", flush=True)
            results.append((name, "ERROR", time.monotonic() - started, repr(error)[:120]))
            continue
        result.print()
        figures = ", ".join(f"{key}={value}" for key, value in result.figures.items())
        results.append((name, "PASS" if result.passed else "FAIL", time.monotonic() - started, figures))
    print("\n| scenario | result | seconds | figures |\n|---|---|---|---|")
    for name, verdict, seconds, figures in results:
        print(f"| {name} | {verdict} | {seconds:.0f} | {figures} |")
    return 0 if all(verdict == "PASS" for _, verdict, _, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
