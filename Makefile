# Two commands on a fresh machine with only Python: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test chat migrate clean catalogues bench

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

# Every benchmarks/bench_*.py in turn, each printing its figures (tens of minutes on 2 cores: bench_delivery
# sends 10,000 notices at Telegram's 30 a second, twice, and bench_memory seeds and sweeps a million requests;
# bench_pacing talks to fake APIs on 127.0.0.1 only). For PostgreSQL, DATABASE_URL=… (bench_core, bench_desk:
# an empty database) and BENCH_DATABASE_URL=… (bench_pacing, bench_sweeps, bench_delivery's two workers: a throwaway
# one, emptied before each use).
bench: $(VENV)/.installed-run
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# Refresh locales/messages.pot from the code (the catalogues' completeness is checked by the tests).
catalogues: $(VENV)/.installed-test
	$(BIN)/python -m tests.catalogue_tools extract

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
