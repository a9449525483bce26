# The README's two commands: `make run` and `make test`. Both set up .venv on a fresh machine.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.tinykit-installed

.PHONY: run test bench lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/tinykit compress --bits 4

test: $(STAMP)
	scripts/ensure-sshd.sh
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	for s in bench/perf/*.py; do $(BIN)/python $$s || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check tinykit exporters bench boards tests
	$(BIN)/ruff format --check tinykit exporters bench boards tests

clean:
	rm -rf $(VENV) build *.egg-info
