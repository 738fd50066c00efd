# Two commands on a fresh machine with only Python: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test chat migrate clean catalogues

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/bab run

chat: $(VENV)/.installed-run
	$(BIN)/bab chat

migrate: $(VENV)/.installed-run
	$(BIN)/bab migrate

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

# Refresh locales/messages.pot from the code (the catalogues' completeness is checked by the tests).
catalogues: $(VENV)/.installed-test
	$(BIN)/python -m tests.catalogue_tools extract

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
