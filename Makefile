# IOP Clinic: the commands a newcomer needs. `make run` and `make test` are the two that matter.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Tests run against the real services on this machine; override to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/clinic
TEST_BROKER_URL ?= redis://127.0.0.1:6379/0

.PHONY: install run test test-sqlite lint bandit fmt migrations-check schema-check migrate shell worker beat seed check-deploy compose-check clean seed-scale loadtest

$(BIN)/python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PY) not found)."; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	@touch $@

install: $(VENV)/.installed

# Embedded default: SQLite file, Celery tasks in-process, demo data, development server.
run: install
	DJANGO_DEBUG=true $(BIN)/python manage.py migrate --noinput
	DJANGO_DEBUG=true $(BIN)/python manage.py seed_demo
	@echo ""
	@echo "IOP Clinic is starting at http://localhost:$(PORT)/  (stop with Ctrl-C)"
	DJANGO_DEBUG=true $(BIN)/python manage.py runserver localhost:$(PORT)

# The whole suite on PostgreSQL + Redis (the services these machines run).
test: install
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
		$(BIN)/python -m pytest $(ARGS)

# The same suite on the embedded SQLite default (PostgreSQL-only tests are skipped with the reason).
test-sqlite: install
	DATABASE_URL=sqlite:///$(CURDIR)/.test-sqlite.db $(BIN)/python -m pytest $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Static security scan: any medium or high finding fails (configuration in pyproject.toml).
bandit: install
	$(BIN)/bandit -c pyproject.toml -r . -ll -q

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations-check: install
	DJANGO_DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run

# The OpenAPI schema generates without warnings and validates against the OpenAPI 3 spec.
schema-check: install
	DJANGO_DEBUG=true $(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null

migrate: install
	$(BIN)/python manage.py migrate

shell: install
	$(BIN)/python manage.py shell

seed: install
	DJANGO_DEBUG=true $(BIN)/python manage.py seed_demo

# With Redis: set CELERY_BROKER_URL (and DATABASE_URL) in the environment first.
worker: install
	$(BIN)/celery -A iop worker --loglevel=INFO

beat: install
	$(BIN)/celery -A iop beat --loglevel=INFO

check-deploy: install
	DJANGO_DEBUG=false DJANGO_SECRET_KEY=$$($(BIN)/python -c 'import secrets;print(secrets.token_urlsafe(64))') \
		DJANGO_ALLOWED_HOSTS=clinic.example.org DJANGO_SECURE_PROXY_SSL_HEADER=true \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

# Benchmark (issue 11, docs/benchmarks.md): a large provider in its own database (~12 min on 2 cores).
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/clinic_scale_bench
BENCH_CACHE_URL ?= rediscache://127.0.0.1:6379/9
BENCH_PORT ?= 8011
# Sync workers, as in the production image: each request on a fresh connection goes to whichever
# worker is free, so a busy worker's keep-alive clients do not queue behind it (docs/benchmarks.md).
BENCH_GUNICORN ?= -w 8
# The load test runs gunicorn and locust on an optimised CPython build (profile-guided and
# link-time optimised), as the production image does (python:3.11-slim is built so). Debian's
# python3.11 is one; pyenv's default build is not and costs about 10 % more CPU per request here.
BENCH_PY ?= $(shell test -x /usr/bin/python3.11 && echo /usr/bin/python3.11 || echo $(PY))
BENCH_VENV := .venv-bench
BENCH_BIN := $(BENCH_VENV)/bin
USERS ?= 50
DURATION ?= 2m
seed-scale: install
	$(BIN)/python -m iop.ensure_database $(BENCH_DATABASE_URL)
	DJANGO_DEBUG=true DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python manage.py migrate --noinput
	DJANGO_DEBUG=true DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python manage.py seed_scale \
		--accounts loadtest/bench_accounts.json $(ARGS)

$(BENCH_VENV)/.installed: requirements.txt
	$(BENCH_PY) -m venv $(BENCH_VENV)
	$(BENCH_BIN)/pip install -q --upgrade pip
	$(BENCH_BIN)/pip install -q -r requirements.txt
	@touch $@

# gunicorn (production settings over HTTP, cache on Redis) + headless locust; CSVs in docs/bench/.
loadtest: install $(BENCH_VENV)/.installed
	@set -e; export DJANGO_DEBUG=false DJANGO_SECRET_KEY=$$($(BIN)/python -c 'import secrets;print(secrets.token_urlsafe(50))') \
		DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost DJANGO_SECURE_SSL_REDIRECT=false DJANGO_SECURE_COOKIES=false \
		DJANGO_SECURE_HSTS_SECONDS=0 CACHE_URL=$(BENCH_CACHE_URL) STATIC_MANIFEST=false \
		DATABASE_URL=$(BENCH_DATABASE_URL); \
	$(BENCH_BIN)/gunicorn iop.wsgi $(BENCH_GUNICORN) --keep-alive 30 -b 127.0.0.1:$(BENCH_PORT) & gpid=$$!; trap "kill $$gpid" EXIT; sleep 5; \
	$(BENCH_BIN)/locust -f loadtest/locustfile.py --headless -u $(USERS) -r 10 -t $(DURATION) \
		--host http://127.0.0.1:$(BENCH_PORT) --csv docs/bench/run$(USERS) --only-summary

compose-check:
	IOP_ENV_FILE=.env.example docker-compose -f docker-compose.yml config -q

clean:
	rm -rf $(VENV) $(BENCH_VENV) staticfiles .test-sqlite.db
