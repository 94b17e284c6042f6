"""Before/after figures for a change: ``bench/turns.py`` on a base commit and on the working tree, one run.

Usage (``make bench-compare BASE=<rev> [ARGS=--quick]`` runs this)::

    .venv/bin/python bench/compare.py --base HEAD~1             # 3 runs each, alternated (about 15 minutes)
    .venv/bin/python bench/compare.py --base b80fece --quick    # every other option goes to bench/turns.py
    .venv/bin/python bench/compare.py --base HEAD~1 --runs 5

The base commit is checked out as a git worktree under ``var/bench/worktrees/<short sha>`` (made once,
reused afterwards). This checkout's ``bench/turns.py`` then measures, alternately, the base stack
(``--tree`` the worktree: its Procfile's web and worker lines, its ``manage.py`` and code, with the same
venv) and the working tree's stack: base, work, base, work, ... so slow drifts of a shared machine spread
over both rows. The load generator, fake LLM and bare view are this checkout's in both, and the bare view
runs under each tree's own web line, so each row's ratios are like for like.

Printed: one line per run, then the medians of the runs for both rows and work/base for every figure.
Each run's full figures are in ``var/bench/compare/{base,work}-<n>.json`` (what turns.py printed: ``.log``
beside it), the summary in
``var/bench/compare.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "var" / "bench"
WORKTREES = OUT_DIR / "worktrees"

# (key, label, path into turns.json's results, higher is better)
FIGURES = (
    ("post_only", "POST req/s (alone)", ("post", "ours_post_only", "per_second"), True),
    ("post_ratio", "POST / bare", ("post", "ratio_post_only"), True),
    ("post_busy", "POST req/s (workers on)", ("post", "ours", "per_second"), True),
    ("turns", "turns/s (closed)", ("closed", "turns_per_second"), True),
    ("turns_ratio", "turns / bare", ("closed", "ratio_to_bare"), True),
    ("reply_p50", "reply p50 ms @50/s", ("latency", "reply", "p50_ms"), False),
    ("reply_p99", "reply p99 ms @50/s", ("latency", "reply", "p99_ms"), False),
    ("bare", "bare req/s", ("post", "bare", "per_second"), True),
)


def git(*args: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def worktree_for(rev: str) -> tuple[Path, str]:
    """A detached worktree of ``rev`` under var/bench/worktrees/<short sha>, made on first use."""
    sha = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    short = sha[:7]
    path = WORKTREES / short
    if path.exists():
        if git("rev-parse", "HEAD", cwd=path) != sha:
            raise SystemExit(f"{path} exists but is not at {sha}; remove it with `git worktree remove {path}`")
    else:
        WORKTREES.mkdir(parents=True, exist_ok=True)
        git("worktree", "add", "--detach", str(path), sha)
    return path, short


def figure(results: dict, path: tuple[str, ...]):
    value = results
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def run_once(tree: Path, out: str, passthrough: list[str]) -> dict:
    cmd = [sys.executable, str(ROOT / "bench" / "turns.py"), "--tree", str(tree), "--out", out, *passthrough]
    started = time.monotonic()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    log = OUT_DIR / f"{out}.log"
    log.parent.mkdir(parents=True, exist_ok=True)  # a fresh checkout has no var/bench/compare yet
    log.write_text(done.stdout + done.stderr)  # turns.py's own table and targets
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"bench/turns.py failed for {tree} (exit {done.returncode}); logs in var/bench/logs/")
    record = json.loads((OUT_DIR / f"{out}.json").read_text())
    record["elapsed"] = round(time.monotonic() - started, 1)
    return record


def fmt(value) -> str:
    return "-" if value is None else f"{value:g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="git revision to compare the working tree against")
    parser.add_argument("--runs", type=int, default=3, help="runs of each tree, alternated; medians are shown")
    args, passthrough = parser.parse_known_args()
    if any(arg.startswith(("--tree", "--out", "--target")) for arg in passthrough):
        parser.error("--tree, --out and --target are set by the comparison")

    base_tree, base_sha = worktree_for(args.base)
    work_sha = git("rev-parse", "--short=7", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    work_label = f"{work_sha}{'+dirty' if dirty else ''}"
    print(f"base {args.base} = {base_sha} ({base_tree.relative_to(ROOT)}); work = working tree at {work_label}")
    print(f"{args.runs} runs each, alternated; bench/turns.py {' '.join(passthrough)}".rstrip(), flush=True)

    runs: dict[str, list[dict]] = {"base": [], "work": []}
    for index in range(args.runs):
        for side, tree in (("base", base_tree), ("work", ROOT)):
            record = run_once(tree, f"compare/{side}-{index + 1}", passthrough)
            runs[side].append(record)
            results = record["results"]
            line = ", ".join(f"{key} {fmt(figure(results, path))}" for key, _, path, _ in FIGURES)
            web = results.get("stack", {}).get("web") or "?"
            api = results.get("served_api", {})
            served = f"web: {web.split()[0]}, openapi {api.get('openapi_sha256')} ({api.get('paths')} paths)"
            print(f"  {side} run {index + 1} ({record['elapsed']} s, {served}): {line}", flush=True)

    medians: dict[str, dict] = {}
    for side, records in runs.items():
        medians[side] = {}
        for key, _, path, _ in FIGURES:
            values = [v for v in (figure(r["results"], path) for r in records) if v is not None]
            medians[side][key] = round(statistics.median(values), 3) if values else None
    ratios = {}
    for key, *_ in FIGURES:
        base_value, work_value = medians["base"][key], medians["work"][key]
        ratios[key] = round(work_value / base_value, 3) if base_value and work_value is not None else None

    print()
    print(f"medians of {args.runs} runs".ljust(24) + "".join(f"{key:>12}" for key, *_ in FIGURES))
    for label, row in ((f"base {base_sha}", medians["base"]), (f"work {work_label}", medians["work"])):
        print(label.ljust(24) + "".join(f"{fmt(row[key]):>12}" for key, *_ in FIGURES))
    print("work / base".ljust(24) + "".join(f"{fmt(ratios[key]):>12}" for key, *_ in FIGURES))
    print("columns: " + "; ".join(f"{key} = {label}" for key, label, _, _ in FIGURES))
    print("(higher is better except the reply latencies)")

    summary = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "base": {"rev": args.base, "commit": base_sha},
        "work": {"commit": work_label},
        "runs": args.runs,
        "turns_args": passthrough,
        "medians": medians,
        "work_over_base": ratios,
        "targets_per_run": {side: [r["targets"] for r in records] for side, records in runs.items()},
    }
    (OUT_DIR / "compare.json").write_text(json.dumps(summary, indent=2) + "\n")
    print("summary written to var/bench/compare.json")


if __name__ == "__main__":
    main()
