# The two commands a fresh machine needs: `make run` and `make test`. Both bootstrap themselves.
PY := .venv/bin/python

.PHONY: run test fuzz bootstrap lint migrate worker beat web chaos bench bench-compare bench-images bench-npc bench-openai bench-memory bench-cards

bootstrap:
	@bin/bootstrap

run: bootstrap
	@$(PY) manage.py serve

# The suite in two runs: what can run side by side on every core (pytest-xdist, -n auto), then the `live`
# tests one at a time (they start servers and workers and share the broker queue). Both run even when the
# first fails, and each prints its summary. PYTEST_ARGS runs just those tests, in one serial run:
#   make test PYTEST_ARGS=apps/characters/tests/test_content.py::test_readiness_threshold
PYTEST := DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-test-only-secret-key} $(PY) -m pytest
test: bootstrap
ifdef PYTEST_ARGS
	@$(PYTEST) $(PYTEST_ARGS)
else
	@status=0; \
	$(PYTEST) -n auto -m "not live" || status=$$?; \
	$(PYTEST) -m live || status=$$?; \
	exit $$status
endif
	@.venv/bin/lint-imports --no-cache
	@.venv/bin/ruff check .

# Every surface's schema fuzzing (tests/test_schema_fuzz*.py) with many more examples per operation than the
# test suite's; prints schemathesis' findings and pytest's summary. FUZZ_EXAMPLES=50 make fuzz for a shorter run.
fuzz: bootstrap
	@FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} $(PYTEST) -p no:cacheprovider -n $${FUZZ_WORKERS:-2} -rA \
		$(wildcard tests/test_schema_fuzz*.py)

lint: bootstrap
	@.venv/bin/ruff check .
	@.venv/bin/lint-imports --no-cache

migrate: bootstrap
	@$(PY) manage.py migrate

# Production processes (see Procfile); they need DATABASE_URL and REDIS_URL.
web: bootstrap
	@.venv/bin/uvicorn config.asgi:application --host 0.0.0.0 --port $${PORT:-8000} --workers $${WEB_CONCURRENCY:-2} \
		--loop uvloop --http httptools --lifespan off --no-access-log --timeout-graceful-shutdown 10

worker: bootstrap
	@.venv/bin/celery -A config worker -l info -Q dramatis,images

beat: bootstrap
	@.venv/bin/celery -A config beat -l info

# The chaos suite's full scenarios (tests/chaos): kill -9 workers under load, a run outliving the broker's
# visibility timeout, 20 writers on one session, two beats over a simulated day; Redis restarted and flushed and
# PostgreSQL restarted under load (on private servers of their own: initdb and redis-server must be installed).
# Needs DATABASE_URL (PostgreSQL) and REDIS_URL; prints each scenario's pass criteria and figures, then a summary table. The fast variants run
# in `make test`'s live part. CHAOS=... picks scenarios (python -m tests.chaos --help).
chaos: bootstrap
	@DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-test-only-secret-key} $(PY) -m tests.chaos --full $(CHAOS)

bench: bootstrap
	@$(PY) bench/turns.py

# Upload validation, selfie latency with the built-in renderer, the text reply with and without a selfie.
bench-images: bootstrap
	@$(PY) bench/images.py $(ARGS)

# The NPC message route and its stream against the bare view (bench/README.md, "NPC messages").
bench-npc: bootstrap
	@$(PY) bench/npc.py

# Prompt tokens over a 2,000-turn conversation against a full-history prompt, and memory on vs off in the worker
# (bench/README.md, "Memory").
bench-memory: bootstrap
	@$(PY) bench/memory.py $(ARGS)

# OpenAI chat completions and their streams, and the native SSE's first message.delta, against the bare view
# (bench/README.md, "OpenAI door").
bench-openai: bootstrap
	@$(PY) bench/openai_door.py

# Character Card imports per second, a 2 MB PNG and a CHARX (bench/README.md, "Character Cards").
bench-cards: bootstrap
	@$(PY) bench/cards.py $(ARGS)

# bench/turns.py on a worktree of BASE and on the working tree, alternated, medians of 3 runs each.
# ARGS go to bench/turns.py (e.g. ARGS=--quick); bench/compare.py --help has the rest.
bench-compare: bootstrap
	@test -n "$(BASE)" || { echo "usage: make bench-compare BASE=<git rev> [ARGS=--quick]"; exit 2; }
	@$(PY) bench/compare.py --base $(BASE) $(ARGS)
