# Fairline: the two commands are `make run` and `make test`; the rest are their parts.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_LINK_MODE := copy

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(UV):
	@echo "setup: installing uv $(UV_VERSION) into $(TOOLS)/ (first run only)"
	@python3 -m venv $(TOOLS)
	@$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) uv.lock pyproject.toml libs/events/pyproject.toml deploy/local/pyproject.toml $(wildcard services/*/pyproject.toml)
	@echo "setup: installing the locked Python dependencies into $(VENV)/"
	@$(UV) sync --frozen --all-packages --quiet
	@touch $@

install: $(VENV)/.synced ## install the locked dependencies

stack: install ## start Kafka (KRaft) and PostgreSQL in .local/, installing what is missing
	@$(VENV)/bin/fairline-stack up

down: install ## stop the local stack (data stays in .local/)
	@$(VENV)/bin/fairline-stack down

# Not `run: stack`: the platform starts the stack itself, so that Ctrl-C stops what it started.
run: install ## start the whole platform with the demo edition; Ctrl-C stops it
	@$(VENV)/bin/fairline-platform run

lint: install ## ruff and mypy, as CI runs them
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check --quiet . || (echo "lint: run '$(VENV)/bin/ruff format .'"; exit 1)
	@$(VENV)/bin/mypy

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# versitygw (Apache-2.0): a real S3 server, files on a POSIX directory. The S3 blob store's
# tests start one on a free port (.tools/bin/versitygw, a link to the pinned build). Built
# once from the Go module proxy with Go 1.25+: about 2 CPU-minutes cold, seconds when Go's
# module and build caches are warm.
VERSITYGW_VERSION := v1.8.0
VERSITYGW := $(TOOLS)/bin/versitygw-$(VERSITYGW_VERSION)

$(VERSITYGW): | $(UV)
	@command -v go >/dev/null || { echo "setup: the S3 blob store's tests need versitygw," \
	  "built with Go 1.25+: install Go (https://go.dev/dl) and run make test-tools again"; exit 1; }
	@echo "setup: building versitygw $(VERSITYGW_VERSION), an S3-compatible server, into $(TOOLS)/bin (once)"
	@rm -rf $(TOOLS)/versitygw.build
	@CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOBIN="$(abspath $(TOOLS))/versitygw.build" \
	  go install -trimpath -ldflags="-s -w" github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)
	@mv $(TOOLS)/versitygw.build/versitygw $@ && rm -rf $(TOOLS)/versitygw.build

test-tools: install $(VERSITYGW) ## kcat (the independent Kafka client) and an S3-compatible server for the tests
	@ln -sfn $(notdir $(VERSITYGW)) $(TOOLS)/bin/versitygw
	@command -v kcat >/dev/null || { echo "setup: installing kcat from Debian's packages"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq kcat >/dev/null; }
	@# Debian 12's librdkafka (2.0.2) fails SCRAM against Kafka 4: a current one goes to .tools/
	@$(VENV)/bin/python -m fairline_stack.kcat

strimzi-crds: install ## Strimzi's CRD schemas into .tools/, which deploy/k8s is checked against
	@$(VENV)/bin/python -m fairline_stack.strimzi crds

test: lint stack test-tools strimzi-crds ## lint, then the whole suite against the real broker and database
	@$(VENV)/bin/pytest

clean: down ## stop the stack and delete its data
	rm -rf .local

.PHONY: help install stack down run lint test test-tools strimzi-crds clean

bench: stack ## benchmarks beside their raw baselines; writes bench/results/latest.{json,md}
	@$(VENV)/bin/python -m bench.run $(BENCH_ARGS)

.PHONY: bench

faults: stack ## kill PostgreSQL, workers and a broker under load; writes bench/results/faults-latest.{json,md}
	@$(VENV)/bin/python -m bench.faults $(FAULTS_ARGS)

.PHONY: faults
