"""Image benchmark: upload validation, selfie turn latency with the built-in renderer, and the text reply's
latency with and without a selfie in the same run.

Usage (``make bench-images`` runs the first form)::

    .venv/bin/python bench/images.py            # start the stack, run every part
    .venv/bin/python bench/images.py --quick    # fewer turns (a smoke run, noisier figures)

The stack is bench/turns.py's (``stack_start``: the Procfile's web line and two Celery workers from its worker
line, which consume the ``dramatis`` and ``images`` queues, a fresh PostgreSQL database, Redis), with the
offline ``scripted`` LLM so that its selfie heuristic decides (a message that asks for a photo gets one) and
the built-in renderer draws. Two characters: ``plain`` (no image thresholds: turns exactly as without
selfies) and ``mira`` (image thresholds, identity anchors and an identity asset written straight to the
bench database and media folder). The turns alternate, one at a time: a plain turn, then a selfie turn.

Figures:

- upload validation: a 1024x1024 PNG through the upload checker (decode, EXIF strip, thumbnail), per second
  and per upload, timed in this process (target: under 50 ms each). Skipped, with a note, while the upload
  checker (``apps.assets.images``) is not in this checkout.
- text reply latency (POST sent -> the reply's ``message.created`` over SSE), p50/p99, for the plain turns
  and for the selfie turns; ``ratio_p50`` is selfie/plain (target: within 1.1x: the text never waits for
  the picture).
- selfie latency (POST sent -> ``image.ready`` over SSE), p50/p99: the whole selfie with the built-in renderer.

Figures are printed and written to ``var/bench/images.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

# This checkout's code first (ahead of the venv's editable install, which may be another checkout's), then
# bench/ for turns.py.
sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent)]

from turns import OUT_DIR, ROOT, SessionStream, Stack, figures_write, pct, stack_start, with_stack  # noqa: E402

PLAIN = {"slug": "plain", "display_name": "Pia", "profile": {"visible_interests": ["film cameras"]}}
SELFIE = {
    "slug": "mira",
    "display_name": "Mira",
    "profile": {
        "visible_interests": ["film cameras"],
        "city": "Lisbon",
        "identity_anchors": {"hair": "short silver bob", "eyes": "green", "style": "denim jacket"},
    },
    "behavioral_thresholds": {"image_proactivity": 0.8, "selfie_comfort": 0.9, "daily_image_cap": 100},
}


@dataclass
class ImageStream(SessionStream):
    """A session's SSE stream that also hands over each ``image.ready`` by the run that asked for it."""

    images: dict = field(default_factory=dict)  # run_ref -> perf_counter
    image_waiters: dict = field(default_factory=dict)

    async def run(self, http: aiohttp.ClientSession) -> None:
        url = f"{self.base}/v1/sessions/{self.session_id}/events/stream"
        while True:
            try:
                headers = {**self.headers, "Last-Event-ID": self.last_id}
                async with http.get(url, headers=headers, timeout=aiohttp.ClientTimeout(total=None)) as resp:
                    resp.raise_for_status()
                    self.connected.set()
                    named = False  # a frame with an ``event:`` line (``message.delta``): not an event of the log
                    async for raw in resp.content:
                        line = raw.decode().rstrip("\n")
                        if not line:
                            named = False
                        elif line.startswith("event: "):
                            named = True
                        elif line.startswith("id: "):
                            self.last_id = line[4:]
                        elif line.startswith("data: ") and not named:
                            self._on(json.loads(line[6:]))
            except (TimeoutError, aiohttp.ClientError):
                await asyncio.sleep(0.2)

    def _on(self, event: dict) -> None:
        kind = event["event_type"]
        if kind == "message.created" and event["role"] == "character":
            self._deliver(event["run_ref"], True)
        elif kind == "run.failed":
            self._deliver(event["run_ref"], False)
        elif kind in ("image.ready", "image.failed", "image.skipped"):
            run_ref = event["payload"].get("run_ref")
            arrived = (time.perf_counter(), kind == "image.ready")
            waiter = self.image_waiters.pop(run_ref, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(arrived)
            else:
                self.images[run_ref] = arrived

    async def image(self, run_ref: str, timeout: float) -> tuple[float, bool]:
        if run_ref in self.images:
            return self.images.pop(run_ref)
        future = asyncio.get_running_loop().create_future()
        self.image_waiters[run_ref] = future
        return await asyncio.wait_for(future, timeout)


def upload_validation(count: int) -> dict:
    """Time the upload checker on a 1024x1024 PNG, in this process."""
    try:
        from apps.assets import images as upload_checks  # the assets helper's module
    except ImportError:
        print("upload validation: skipped (apps.assets.images, the upload checker, is not in this checkout)")
        return {"skipped": "apps.assets.images not present"}
    names = ("image_check", "upload_check", "image_validate")
    check = next((getattr(upload_checks, name) for name in names if hasattr(upload_checks, name)), None)
    if check is None:
        print("upload validation: skipped (no image_check/upload_check/image_validate in apps.assets.images)")
        return {"skipped": "no known checker function"}
    from PIL import Image

    picture = io.BytesIO()
    Image.effect_noise((1024, 1024), 64).convert("RGB").save(picture, format="PNG")
    data = picture.getvalue()
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        check(data)
        timings.append(time.perf_counter() - started)
    per = pct(timings, 50) * 1000
    print(f"upload validation: {len(timings) / sum(timings):.1f} uploads/s, p50 {per:.1f} ms (target < 50 ms)")
    return {"per_second": round(len(timings) / sum(timings), 1), "p50_ms": round(per, 2), "pass": per < 50}


async def upload_requests(http: aiohttp.ClientSession, base: str, count: int, concurrency: int = 4) -> dict:
    """``count`` uploads of a 1024x1024 PNG through the real route (multipart ``POST
    /v1/characters/mira/visual-assets``: checked, stripped, thumbnailed, stored), ``concurrency`` at a time."""
    from PIL import Image

    picture = io.BytesIO()
    Image.effect_noise((1024, 1024), 64).convert("RGB").save(picture, format="PNG")
    data = picture.getvalue()
    timings: list[float] = []
    errors = 0
    sequence = iter(range(count))

    async def sender() -> None:
        nonlocal errors
        for index in sequence:
            form = aiohttp.FormData()
            form.add_field("file", data, filename="look.png", content_type="image/png")
            form.add_field("asset_key", f"bench-look-{index}")
            form.add_field("category", "wardrobe")
            started = time.perf_counter()
            async with http.post(f"{base}/v1/characters/mira/visual-assets", data=form) as response:
                await response.read()
                if response.status != 201:
                    errors += 1
                    continue
            timings.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    figures = {
        "n": len(timings),
        "errors": errors,
        "per_second": round(len(timings) / elapsed, 1),
        "p50_ms": round(pct(timings, 50) * 1000, 2) if timings else None,
        "p99_ms": round(pct(timings, 99) * 1000, 2) if timings else None,
    }
    print(
        f"upload requests (1024x1024 PNG, c={concurrency}): {figures['per_second']} uploads/s, "
        f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, errors {errors}"
    )
    return figures


def identity_write(database_url: str, var_dir: Path) -> None:
    """Give ``mira`` an identity asset, written straight to the bench database and media folder (the stack's)."""
    os.environ.update(DATABASE_URL=database_url, DRAMATIS_VAR_DIR=str(var_dir))
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from apps.assets.tests.factories import identity_asset_create
    from apps.characters.models import Character

    identity_asset_create(Character.objects.get(slug="mira"))


async def wait_up(http: aiohttp.ClientSession, base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            async with http.get(f"{base}/v1/") as response:
                if response.status < 500:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("the web process never answered")


async def bench(args, targets) -> dict:
    headers = {"Authorization": f"Bearer {targets.api_key}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        await wait_up(http, targets.base)
        for body in (PLAIN, SELFIE):
            async with http.post(f"{targets.base}/v1/characters", json=body) as response:
                assert response.status in (200, 201), await response.text()
        await asyncio.to_thread(identity_write, targets.database_url, OUT_DIR / "var")
        streams: dict[str, list[ImageStream]] = {}
        tasks = []
        for slug in ("plain", "mira"):
            streams[slug] = []
            for index in range(args.sessions):
                body = {"character": slug, "external_user_ref": f"user-{index}"}
                async with http.post(f"{targets.base}/v1/sessions", json=body) as response:
                    session_id = (await response.json())["data"]["session_id"]
                stream = ImageStream(targets.base, session_id, headers)
                streams[slug].append(stream)
                tasks.append(asyncio.create_task(stream.run(http)))
        for stream in [*streams["plain"], *streams["mira"]]:
            await asyncio.wait_for(stream.connected.wait(), 10)

        async def turn(stream: ImageStream, text: str) -> tuple[float, str, float]:
            started = time.perf_counter()
            url = f"{targets.base}/v1/sessions/{stream.session_id}/messages"
            async with http.post(url, json={"text": text}) as response:
                run_ref = (await response.json())["data"]["run_ref"]
            arrived, ok = await stream.reply(run_ref, args.reply_timeout)
            assert ok, f"run {run_ref} failed"
            return arrived - started, run_ref, started

        plain, with_selfie, selfie_total, missing = [], [], [], 0
        for index in range(args.warmup + args.turns):
            slot = index % args.sessions
            latency, _, _ = await turn(streams["plain"][slot], f"what are you up to? ({index})")
            stream = streams["mira"][slot]
            text_latency, run_ref, started = await turn(stream, f"send me a selfie from where you are? ({index})")
            try:
                image_at, ok = await stream.image(run_ref, args.reply_timeout)
            except TimeoutError:
                ok, image_at = False, 0.0
            if index < args.warmup:
                continue
            plain.append(latency)
            with_selfie.append(text_latency)
            if ok:
                selfie_total.append(image_at - started)
            else:
                missing += 1
        for task in tasks:
            task.cancel()
        uploads_http = await upload_requests(http, targets.base, args.uploads)

    def ms(values: list[float], q: float) -> float | None:
        return round(pct(values, q) * 1000, 2) if values else None

    ratio = round(pct(with_selfie, 50) / pct(plain, 50), 3) if plain and with_selfie else None
    return {
        "text_reply_plain": {"n": len(plain), "p50_ms": ms(plain, 50), "p99_ms": ms(plain, 99)},
        "text_reply_with_selfie": {"n": len(with_selfie), "p50_ms": ms(with_selfie, 50), "p99_ms": ms(with_selfie, 99)},
        "ratio_p50": ratio,
        "selfie_ready": {
            "n": len(selfie_total), "missing": missing, "p50_ms": ms(selfie_total, 50), "p99_ms": ms(selfie_total, 99)
        },
        "upload_requests": uploads_http,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=60, help="measured turn pairs (a plain turn, a selfie turn)")
    parser.add_argument("--warmup", type=int, default=5, help="turn pairs before measuring")
    parser.add_argument("--sessions", type=int, default=4, help="sessions per character, used round-robin")
    parser.add_argument("--uploads", type=int, default=50, help="upload validations to time")
    parser.add_argument("--reply-timeout", type=float, default=30.0)
    parser.add_argument("--database", default="dramatis_bench_images", help="database to (re)create")
    parser.add_argument("--redis-db", type=int, default=13, help="Redis db number for the stack (flushed)")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--quick", action="store_true", help="fewer turns, for a smoke run")
    args = parser.parse_args()
    # What bench/turns.py's stack_start reads: this checkout, its Procfile, no bare view, the scripted LLM.
    args.tree, args.web, args.target, args.api_key, args.no_bare, args.llm = (
        str(ROOT),
        None,
        None,
        None,
        True,
        "scripted",
    )
    if args.quick:
        args.turns, args.warmup, args.uploads = 15, 2, 10

    def run(stack: Stack) -> None:
        targets = stack_start(args, stack)
        results = asyncio.run(bench(args, targets))
        uploads = upload_validation(args.uploads)  # after bench(): Django is set up here by then
        results["upload_validation"] = uploads
        plain, selfie = results["text_reply_plain"], results["text_reply_with_selfie"]
        print(f"text reply, plain turns:  p50 {plain['p50_ms']} ms  p99 {plain['p99_ms']} ms  (n={plain['n']})")
        print(f"text reply, selfie turns: p50 {selfie['p50_ms']} ms  p99 {selfie['p99_ms']} ms  (n={selfie['n']})")
        ratio = results["ratio_p50"]
        verdict = "PASS" if ratio is not None and ratio <= 1.1 else "FAIL"
        print(f"ratio (selfie / plain, p50): {ratio}  target <= 1.1: {verdict}")
        ready = results["selfie_ready"]
        print(
            f"selfie turn, POST -> image.ready (built-in renderer): p50 {ready['p50_ms']} ms  "
            f"p99 {ready['p99_ms']} ms  (n={ready['n']}, missing {ready['missing']})"
        )
        checks = {"text_ratio_p50_le_1.1": verdict == "PASS", "upload_p50_lt_50ms": uploads.get("pass")}
        figures_write("images", args=args, results=results, targets=checks)

    with_stack(run)


if __name__ == "__main__":
    main()
