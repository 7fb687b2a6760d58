# Every command a person types. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
STACK := scripts/stack.sh
PY := .venv/bin/python

.PHONY: help run up down clean status migrate psql venv env test test-db pgtap pytest lint compose-check bench-db bench load load-headless pgbouncer-stats db-stats chaos

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

run: up venv ## serve the API on http://127.0.0.1:8000 in the foreground (Ctrl-C stops it)
	@$(PY) -m api

test: test-db pgtap pytest lint ## run every test: pgTAP, pytest with coverage, lint (brings the stack up first)

up: ## install what is missing, start PostgreSQL + PgBouncer on loopback, migrate
	@$(STACK) up

down: ## stop PgBouncer and PostgreSQL (data kept)
	@$(STACK) down

clean: ## stop everything and delete the local cluster, logs and .venv
	@$(STACK) clean
	@rm -rf .venv

status: ## show whether PostgreSQL and PgBouncer run
	@$(STACK) status

migrate: ## run Liquibase update on the service database
	@$(STACK) migrate

psql: ## psql on the service database as the DBA (reads SQL from stdin when piped)
	@$(STACK) psql

env: ## create .env from .env.example with generated passwords (an existing .env is kept)
	@bash -c '. scripts/lib.sh && ensure_env_file'

compose-check: venv ## static checks of docker-compose.yml, the Dockerfiles and docker/ (no Docker needed; part of make test)
	@[ -f node_modules/dclint/schemas/compose.schema.json ] || npm ci --no-audit --no-fund --loglevel=error
	@$(PY) -m pytest -q -p no:cacheprovider tests/test_compose.py

venv: ## install the Python project into .venv (pinned by constraints.txt)
	@scripts/venv.sh

test-db: ## recreate the test database from the changelog
	@$(STACK) test-db

pgtap: ## run the pgTAP suite with pg_prove (needs make test-db)
	@scripts/pgtap.sh

pytest: venv ## run pytest on the real stack with coverage of api/ (needs make test-db)
	@$(PY) -m pytest --cov=api --cov-report=term-missing --cov-fail-under=90

lint: venv ## ruff and mypy on api/ and tests/
	@.venv/bin/ruff check api tests && .venv/bin/ruff format --check api tests && .venv/bin/mypy

bench-db: ## pgbench the SQL API on a scratch database (env: DURATION CLIENTS BATCH_CLIENTS THREADS)
	@scripts/bench-db.sh

bench: ## wrk on the API: GET vs hot-wallet POST (batched, unbatched) vs 10,000 wallets, 1 and 2 workers
	@scripts/bench.sh

load: ## Locust web UI on http://127.0.0.1:8089 against the running API (env: USERS SPAWN_RATE PROCESSES WALLETS)
	@scripts/load.sh ui

load-headless: ## bounded Locust run + balance check; CSV/HTML in .run/load/ (env: SCENARIO DURATION USERS)
	@scripts/load.sh headless

pgbouncer-stats: ## PgBouncer's SHOW POOLS, STATS, SERVERS, CLIENTS
	@scripts/stats.sh pgbouncer

db-stats: ## connections (pg_stat_activity) and the wallets table's HOT-update ratio
	@scripts/stats.sh db

chaos: ## fault-injection run on a private stack: kill PgBouncer, PostgreSQL, API workers under load; check the ledger (PROFILE=long|short)
	@PROFILE=$(or $(PROFILE),long) scripts/chaos.sh
