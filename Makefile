# Two entry points, each doing all set-up on a fresh machine (no sudo): a Python venv in
# .venv/ and, on first use, the component binaries in the user's cache directory.
PYTHON ?= python3
VENV := .venv
DEPS := $(VENV)/.deps-installed
PYTEST_ARGS ?=

.PHONY: acceptance test quick lint provision clean

$(DEPS): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || \
	  { echo "error: $(PYTHON) is not Python 3.11 or newer: install it, or run make PYTHON=python3.11"; exit 1; }
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || \
	  { echo "error: $(PYTHON) cannot create a virtual environment (no ensurepip): apt-get install python3-venv"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(DEPS)

## acceptance: the Phase-3 acceptance suite on the local target; writes reports/
acceptance: $(DEPS)
	$(VENV)/bin/pytest features $(PYTEST_ARGS)

## test: lint and the project's own tests (they include a full local acceptance run)
test: $(DEPS) lint
	$(VENV)/bin/pytest -c tests/pytest.ini tests $(PYTEST_ARGS)

## quick: lint and the offline project tests only (under a minute; no acceptance runs)
quick: $(DEPS) lint
	$(VENV)/bin/pytest -c tests/pytest.ini tests -m "not slow" $(PYTEST_ARGS)

lint: $(DEPS)
	$(VENV)/bin/ruff check .

## provision: fetch/build the pinned components into the cache ahead of a run
provision: $(DEPS)
	$(VENV)/bin/python -m fixtures.provision

clean:
	rm -rf $(VENV) reports
