# Every command a person types. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
STACK := scripts/stack.sh

.PHONY: help up down clean status migrate psql test test-db pgtap

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

up: ## install what is missing, start PostgreSQL + PgBouncer on loopback, migrate
	@$(STACK) up

down: ## stop PgBouncer and PostgreSQL (data kept)
	@$(STACK) down

clean: ## stop everything and delete the local cluster and logs
	@$(STACK) clean

status: ## show whether PostgreSQL and PgBouncer run
	@$(STACK) status

migrate: ## run Liquibase update on the service database
	@$(STACK) migrate

psql: ## psql on the service database as the DBA (reads SQL from stdin when piped)
	@$(STACK) psql

test-db: ## recreate the test database from the changelog
	@$(STACK) test-db

pgtap: test-db ## run the pgTAP suite (pg_prove)
	@scripts/pgtap.sh

test: pgtap ## run every test (brings the stack up first)
