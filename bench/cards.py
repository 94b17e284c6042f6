"""Character Card imports per second, in one process: ``POST /v1/characters/import`` through Django's whole
request stack (the test client) against PostgreSQL and Redis with the production settings, for a 2 MB PNG card
(a noisy picture that barely compresses, with a V2 card and a two-entry book in its ``chara`` chunk) and for a
CHARX of the same card (its picture as the main icon). Each import makes a new character (its own slug), its
version, its lorebook and its identity asset (the picture decoded, checked, stripped and thumbnailed, both files
written to the media folder).

Usage::

    .venv/bin/python bench/cards.py                 # 100 imports of each kind
    .venv/bin/python bench/cards.py --imports 30

Needs PostgreSQL on 127.0.0.1:5432 (the script drops and re-creates ``dramatis_bench_cards``) and Redis on
127.0.0.1:6379 (db 14, flushed); files go to ``var/bench/cards-media`` (emptied first). Prints imports/s and
the p50 and p95 milliseconds of one import for each kind; the target is a 2 MB PNG card imported in under
100 ms (p50). Figures go to ``var/bench/cards.json``. Never run by the test suite.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from inprocess import database_recreate, environment_prepare, figures_write  # noqa: E402

DATABASE = "dramatis_bench_cards"
REDIS_DB = 14
MEDIA = ROOT / "var" / "bench" / "cards-media"
TARGET_MS = 100.0


def _noisy_png(target_bytes: int) -> bytes:
    """A PNG of random pixels of about ``target_bytes`` (noise does not compress, so size follows pixels)."""
    import io

    from PIL import Image

    side = int((target_bytes / 3) ** 0.5)
    picture = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    picture.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--imports", type=int, default=100, help="imports of each kind")
    args = parser.parse_args()
    shutil.rmtree(MEDIA, ignore_errors=True)
    MEDIA.mkdir(parents=True)
    environment_prepare(
        database=DATABASE,
        redis_db=REDIS_DB,
        DJANGO_ALLOWED_HOSTS="testserver,127.0.0.1",
        LLM_BASE_URL="",
        LLM_CHAT_MODEL="scripted",
        MEDIA_ROOT=str(MEDIA),
    )
    database_recreate(DATABASE)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True, env=os.environ)
    _run(args)


def _run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    import redis
    from django.test import Client

    from apps.accounts import services as accounts_services
    from apps.assets.tests.cards_for_tests import charx, encoded, png_card, v2_card, v3_card

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    app = accounts_services.app_create(name="bench cards")
    key = accounts_services.api_key_create(app=app, name="bench").raw_key
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    picture = _noisy_png(2 * 1024 * 1024)
    png = png_card({"chara": encoded(v2_card())}, base=picture)
    card = v3_card(assets=[{"type": "icon", "uri": "embeded://assets/icon/images/main.png", "name": "main"}])
    zipped = charx(card, {"assets/icon/images/main.png": picture})
    kinds = {"png": (png, "image/png"), "charx": (zipped, "application/zip")}
    figures: dict[str, dict] = {}
    for kind, (body, content_type) in kinds.items():
        for index in range(3):  # warm-up: the key cache, imports, the first file writes
            client.generic("POST", f"/v1/characters/import?slug=warm-{kind}-{index}", body, content_type=content_type)
        timings, cpu = [], []
        started = time.perf_counter()
        for index in range(args.imports):
            before, before_cpu = time.perf_counter(), time.process_time()
            answer = client.generic(
                "POST", f"/v1/characters/import?slug={kind}-{index}", body, content_type=content_type
            )
            timings.append((time.perf_counter() - before) * 1000)
            cpu.append((time.process_time() - before_cpu) * 1000)
            assert answer.status_code == 201, answer.content[:300]
        elapsed = time.perf_counter() - started
        timings.sort()
        figures[kind] = {
            "file_bytes": len(body),
            "imports": args.imports,
            "imports_per_second": round(args.imports / elapsed, 1),
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 1),
            "cpu_p50_ms": round(statistics.median(cpu), 1),
        }
        line = figures[kind]
        print(
            f"{kind:5} card of {len(body) / 1_048_576:.2f} MB: {line['imports_per_second']:6.1f} imports/s, "
            f"p50 {line['p50_ms']:.1f} ms, p95 {line['p95_ms']:.1f} ms per import "
            f"(this process's CPU: p50 {line['cpu_p50_ms']:.1f} ms)"
        )
    figures["load_average_1m"] = round(os.getloadavg()[0], 2)
    print(f"load average (1 min) at the end: {figures['load_average_1m']} on {os.cpu_count()} cores")
    verdict = "met" if figures["png"]["p50_ms"] < TARGET_MS else "MISSED"
    print(f"target: a 2 MB PNG card imported in under {TARGET_MS:.0f} ms (p50): {verdict}")
    figures_write("cards", figures)


if __name__ == "__main__":
    main()
