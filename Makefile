# Two entry points, each doing all set-up on a fresh machine (no sudo): a Python venv in
# .venv/ and, on first use, the component binaries in the user's cache directory.
PYTHON ?= python3
VENV := .venv
DEPS := $(VENV)/.deps-installed
PYTEST_ARGS ?=

.PHONY: help acceptance test test-cpu test-kind quick lint provision lock clean signoff
.DEFAULT_GOAL := help

## help: this list (`make` alone)
help:
	@sed -n 's/^## \([a-z-]*\): /make \1\t/p' $(MAKEFILE_LIST) | expand -t 18

# The locked, hashed dependencies with the development tools (pip refuses a file whose hash
# differs), then the suite itself, editable and without build isolation (its build backend
# comes from the lock too), so pytest loads it through its entry point.
$(DEPS): requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || \
	  { echo "error: $(PYTHON) is not Python 3.11 or newer: install it, or run make PYTHON=python3.11"; exit 1; }
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || \
	  { echo "error: $(PYTHON) cannot create a virtual environment (no ensurepip): apt-get install python3-venv"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(DEPS)

## acceptance: the Phase-3 acceptance suite on the local target; writes reports/
acceptance: $(DEPS)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

## test: lint and the project's own tests (they include full local and kwok acceptance runs; the CPU and kind tiers are test-cpu and test-kind)
test: $(DEPS) lint
	$(VENV)/bin/pytest -c tests/pytest.ini tests -m "not kind and not cpu" $(PYTEST_ARGS)

## test-cpu: the CPU tier: the local CPU-stress journeys (minutes set by the rule's 5-minute window; run it alone)
test-cpu: $(DEPS)
	$(VENV)/bin/pytest -c tests/pytest.ini tests -m cpu $(PYTEST_ARGS)

## test-kind: the kind tier: the suite on kind clusters with real containers (needs Docker: .ci/prepare-docker)
test-kind: $(DEPS)
	$(VENV)/bin/pytest -c tests/pytest.ini tests -m kind $(PYTEST_ARGS)

## quick: lint and the offline project tests only (under a minute; no acceptance runs)
quick: $(DEPS) lint
	$(VENV)/bin/pytest -c tests/pytest.ini tests -m "not slow" $(PYTEST_ARGS)

## signoff: one sign-off across the runs in reports/ and reports-*/ (e.g. reports-kwok/, reports-kind/):
## writes reports/signoff.html and reports/signoff.json. SIGNOFF_RUNS="dir dir…" names others.
SIGNOFF_RUNS ?= $(wildcard reports/verdicts.json reports-*/verdicts.json)
signoff: $(DEPS)
	@test -n "$(strip $(SIGNOFF_RUNS))" || { echo "error: no run to sign off: run the suite (make acceptance; keep each target's reports/ as reports-<target>/), or name runs with SIGNOFF_RUNS"; exit 2; }
	$(VENV)/bin/python -m odin_acceptance.signoff --out reports $(SIGNOFF_RUNS)

## lint: ruff over the whole tree
lint: $(DEPS)
	$(VENV)/bin/ruff check .

## provision: fetch/build the pinned components into the cache ahead of a run
provision: $(DEPS)
	$(VENV)/bin/python -m odin_acceptance.provisioning

## lock: regenerate requirements.lock and requirements-dev.lock from pyproject.toml's ranges
# The development lock first (it holds everything), then the runtime lock seeded from it, so
# the pins they share agree (pip-compile keeps an output file's pins that still fit).
LOCK_FLAGS := --quiet --all-build-deps --generate-hashes --strip-extras --allow-unsafe --no-emit-find-links --no-emit-index-url
lock: $(DEPS)
	$(VENV)/bin/pip-compile $(LOCK_FLAGS) --extra dev --output-file requirements-dev.lock pyproject.toml
	cp requirements-dev.lock requirements.lock
	$(VENV)/bin/pip-compile $(LOCK_FLAGS) --output-file requirements.lock pyproject.toml

## clean: remove the venv and reports/ (the component cache stays)
clean:
	rm -rf $(VENV) reports
