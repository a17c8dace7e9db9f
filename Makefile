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

# `make run` feeds the gateway from a simulated sensor gateway per protocol:
# each plays traffic on a pseudo terminal linked at $(CONFIG_DIR)/sim-<protocol>,
# the port the first-start config lists. They stop when the gateway does.
SIMULATED := mysensors rflink rtl_433 jsonl
with_simulators = trap 'kill $$sims 2>/dev/null' EXIT INT TERM; sims=; \
	for p in $(SIMULATED); do \
		$(BIN)/ugate simulate --protocol $$p --link $(CONFIG_DIR)/sim-$$p & sims="$$sims $$!"; \
	done; \
	$(1)

## run: start the gateway on http://127.0.0.1:8123 with the config in ./.ugate, fed by simulated sensors
run: $(STAMP) $(CONFIG_DIR)/config.json
	@$(call with_simulators,$(BIN)/ugate run --config-dir $(CONFIG_DIR) --host 127.0.0.1 --port $(PORT))

## run-micropython: the same gateway under the MicroPython unix port
run-micropython: $(STAMP) $(CONFIG_DIR)/config.json
	@$(call with_simulators,$(BIN)/ugate run --config-dir $(CONFIG_DIR) --host 127.0.0.1 --port $(PORT) --runtime micropython)

# First start only (no prerequisite, so an edited config is never replaced):
# the example config, whose serial ports are the simulators' links.
$(CONFIG_DIR)/config.json:
	mkdir -p $(CONFIG_DIR)
	sed 's|"\.ugate/|"$(CONFIG_DIR)/|' examples/config.json > $@

## test: the whole suite, every behaviour test on CPython and on MicroPython
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 tests

clean:
	rm -rf $(VENV) build .pytest_cache
