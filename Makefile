# The verbs people type. `make run` and `make test` do all set-up themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
CONFIG_DIR ?= .ugate
PORT ?= 8123

.PHONY: run run-micropython test venv clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

venv: $(STAMP)

## run: start the gateway on http://127.0.0.1:8123 with the config in ./.ugate
run: $(STAMP)
	$(BIN)/ugate run --config-dir $(CONFIG_DIR) --host 127.0.0.1 --port $(PORT)

## run-micropython: the same gateway under the MicroPython unix port
run-micropython: $(STAMP)
	$(BIN)/ugate run --config-dir $(CONFIG_DIR) --host 127.0.0.1 --port $(PORT) --runtime micropython

## test: the whole suite, every behaviour test on CPython and on MicroPython
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 tests

clean:
	rm -rf $(VENV) build .pytest_cache
