# The verbs people type. `make run` and `make test` do all set-up themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
CONFIG_DIR ?= .ugate
PORT ?= 8123

.PHONY: run run-micropython test venv browser clean firmware deploy flash bench

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

# The sign-in tests drive Debian's Chromium with Selenium (never a downloaded
# browser): installed from apt when missing (CI runs as root).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
/usr/bin/chromium /usr/bin/chromedriver:
	$(SUDO) apt-get update -qq
	$(SUDO) apt-get install -y -qq --no-install-recommends chromium chromium-driver

browser: /usr/bin/chromium /usr/bin/chromedriver

## test: the whole suite, every behaviour test on CPython and on MicroPython
test: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 tests

## firmware: compile ugate, its firmware glue and Microdot to .mpy in build/$(BOARD)/ (BOARD=esp32|esp32s3|pico_w)
BOARD ?= esp32
firmware: $(STAMP)
	$(BIN)/python tools/build.py --board $(BOARD)

# PORT is the board's serial port here (it is the HTTP port for `make run`).
board_port = @test -e "$(PORT)" || { echo "error: give the board's serial port, e.g. make $@ PORT=/dev/ttyUSB0"; exit 2; }

## deploy: copy build/$(BOARD)/ and CONFIG (config.json), WIFI (wifi.json) to the board on PORT with mpremote, then reset it
deploy: $(STAMP)
	$(board_port)
	$(BIN)/python tools/deploy.py --port $(PORT) --board $(BOARD) $(if $(CONFIG),--config $(CONFIG)) $(if $(WIFI),--wifi $(WIFI))

## flash: erase the board on PORT and write the MicroPython image FIRMWARE (esptool; the Pico W gets UF2 steps)
flash: $(STAMP)
	$(if $(filter pico_w,$(BOARD)),,$(board_port))
	$(BIN)/python tools/flash.py --board $(BOARD) --firmware "$(FIRMWARE)" $(if $(filter pico_w,$(BOARD)),,--port $(PORT))

## bench: the benchmark workloads on CPython and MicroPython over loopback, as a table
bench: $(STAMP)
	$(BIN)/python tools/bench.py

clean:
	rm -rf $(VENV) build .pytest_cache
