# The verbs people type. `make run` and `make test` do all set-up themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
CONFIG_DIR ?= .ugate
PORT ?= 8123

.PHONY: run run-micropython token test venv page clean firmware deploy flash bench bench-ha board-live

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# MicroPython packages the firmware imports (umqtt.simple), fetched from PyPI
# by pinned URL and sha256 (tools/mpy_packages.py), for the sources
# (MICROPYPATH of `ugate run --runtime micropython`) and tools/build.py.
MPY_PACKAGES := build/packages/lib/umqtt/simple.py
$(MPY_PACKAGES): tools/mpy_packages.py | $(STAMP)
	$(BIN)/python tools/mpy_packages.py

# Debian packages the tests use, installed from apt when missing (CI runs as
# root): Mosquitto, which the MQTT tests start themselves, and Chromium with
# its driver, which the sign-in tests drive with Selenium (never a
# downloaded browser), and wrk, which drives tools/bench_ha.py.
DEBIAN_PACKAGES := /usr/sbin/mosquitto /usr/bin/chromium /usr/bin/chromedriver /usr/bin/wrk
MOSQUITTO := /usr/sbin/mosquitto
WRK := /usr/bin/wrk
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
$(DEBIAN_PACKAGES):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		mosquitto chromium chromium-driver wrk

# A 32-bit MicroPython (the WebAssembly port from npm, run with node) for the
# heap measurements of tools/heap_cost.py and the suite.
MP32 := tools/mp32/node_modules/.installed
$(MP32): tools/mp32/package-lock.json
	npm ci --prefix tools/mp32 --no-audit --no-fund --loglevel=error
	touch $@

venv: $(STAMP) $(MPY_PACKAGES) $(MP32) page

# The web page's files gzipped next to them (tools/page_gzip.py), as the
# gateway serves them; cheap, so always run.
page: $(STAMP)
	@$(BIN)/python tools/page_gzip.py > /dev/null

# `make run` feeds the gateway from a simulated sensor gateway per protocol:
# each plays traffic on a pseudo terminal linked at $(CONFIG_DIR)/sim-<protocol>,
# the port the first-start config lists. They stop when the gateway does.
SIMULATED := mysensors rflink rtl_433 jsonl
# Their pty paths are not printed (the links are what the config names), and
# the gateway starts once the links exist, so that its first lines are the
# URL and, on first start, the token.
with_simulators = trap 'kill $$sims 2>/dev/null' EXIT INT TERM; sims=; \
	for p in $(SIMULATED); do \
		$(BIN)/ugate simulate --protocol $$p --link $(CONFIG_DIR)/sim-$$p >/dev/null & sims="$$sims $$!"; \
	done; \
	for i in $$(seq 50); do \
		ready=yes; for p in $(SIMULATED); do test -e $(CONFIG_DIR)/sim-$$p || ready=; done; \
		test -n "$$ready" && break; sleep 0.1; \
	done; \
	$(1)

## run: start the gateway on http://127.0.0.1:8123 with the config in ./.ugate, fed by simulated sensors
run: $(STAMP) page $(CONFIG_DIR)/config.json
	@$(call with_simulators,$(BIN)/ugate run --config-dir $(CONFIG_DIR) --host 127.0.0.1 --port $(PORT))

## run-micropython: the same gateway under the MicroPython unix port
run-micropython: $(STAMP) $(MPY_PACKAGES) page $(CONFIG_DIR)/config.json
	@$(call with_simulators,$(BIN)/ugate run --config-dir $(CONFIG_DIR) --host 127.0.0.1 --port $(PORT) --runtime micropython)

# First start only (no prerequisite, so an edited config is never replaced):
# the example config, whose serial ports are the simulators' links.
$(CONFIG_DIR)/config.json:
	mkdir -p $(CONFIG_DIR)
	sed 's|"\.ugate/|"$(CONFIG_DIR)/|' examples/config.json > $@

## token: create another long-lived access token for the gateway in ./.ugate and print it
token: $(STAMP)
	@$(BIN)/ugate token create --config-dir $(CONFIG_DIR) --name token-$$(date +%Y%m%d-%H%M%S)

## test: the whole suite, every behaviour test on CPython and on MicroPython
test: $(STAMP) $(MPY_PACKAGES) $(MP32) page $(DEBIAN_PACKAGES)
	$(BIN)/python -m pytest -n 2 tests

## firmware: compile ugate, its firmware glue and Microdot to .mpy in build/$(BOARD)/, and lib/ as the ROMFS image build/$(BOARD)/romfs.img (BOARD=esp32|esp32s3|pico_w)
BOARD ?= esp32
firmware: $(STAMP)
	$(BIN)/python tools/build.py --board $(BOARD)

# PORT is the board's serial port here (it is the HTTP port for `make run`).
board_port = @test -e "$(PORT)" || { echo "error: give the board's serial port, e.g. make $@ PORT=/dev/ttyUSB0"; exit 2; }

## deploy: copy build/$(BOARD)/ (lib/ into the ROMFS partition where the board has one; INSTALL=files|romfs to choose, INSTALL=frozen for a firmware with ugate frozen in) and CONFIG (config.json), WIFI (wifi.json) to the board on PORT with mpremote, then reset it
deploy: $(STAMP)
	$(board_port)
	$(BIN)/python tools/deploy.py --port $(PORT) --board $(BOARD) $(if $(CONFIG),--config $(CONFIG)) $(if $(WIFI),--wifi $(WIFI)) $(if $(filter frozen,$(INSTALL)),--frozen,$(if $(INSTALL),--install $(INSTALL)))

## flash: erase the board on PORT and write the MicroPython image FIRMWARE (esptool; the Pico W gets UF2 steps)
flash: $(STAMP)
	$(if $(filter pico_w,$(BOARD)),,$(board_port))
	$(BIN)/python tools/flash.py --board $(BOARD) --firmware "$(FIRMWARE)" $(if $(filter pico_w,$(BOARD)),,--port $(PORT))

## board-live: serve each board's configurations live on its 32-bit twin, built from MICROPYTHON (a checkout of MicroPython's source; tools/board_live.py)
I686_GCC := /usr/bin/i686-linux-gnu-gcc
$(I686_GCC):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc-i686-linux-gnu
board-live: $(STAMP) $(MPY_PACKAGES) $(MP32) $(MOSQUITTO) $(I686_GCC)
	@test -d "$(MICROPYTHON)/ports/unix" || { echo "error: give MicroPython's source, e.g. make $@ MICROPYTHON=~/micropython"; exit 2; }
	$(BIN)/python tools/board_live.py build --source $(MICROPYTHON)
	$(BIN)/python tools/board_live.py --install frozen --install romfs --install files --least

## bench: the benchmark workloads on CPython and MicroPython over loopback, as a table
bench: $(STAMP) $(MPY_PACKAGES) $(MOSQUITTO)
	$(BIN)/python tools/bench.py
	$(BIN)/python tools/bench_mqtt.py

## bench-ha: ugate beside Home Assistant 2024.1.6 on its own API (tools/bench_ha.py, ~15 min; installs Home Assistant once into ~/.cache/ugate-bench)
bench-ha: $(STAMP) $(WRK)
	$(BIN)/python tools/bench_ha.py

clean:
	rm -rf $(VENV) build .pytest_cache tools/mp32/node_modules
