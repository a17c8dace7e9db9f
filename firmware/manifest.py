# Freeze ugate into your own MicroPython firmware: frozen modules run from
# flash, so the code takes no heap (the gateway then needs RAM only for its
# data). From a MicroPython checkout, with microdot installed (pip) in the
# Python that runs the build:
#
#   make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/ugate/firmware/manifest.py
#   make -C ports/rp2 BOARD=RPI_PICO_W FROZEN_MANIFEST=/path/to/pico-manifest.py
#
# where pico-manifest.py is the one line
#   include("/path/to/ugate/firmware/manifest.py", base="$(BOARD_DIR)/manifest.py")
#
# Then flash that firmware and deploy with `tools/deploy.py --frozen`: it
# copies main.py, boot.py and the config files only. firmware/Dockerfile is
# a reproducible recipe for it.
import importlib.util
import os

# The port's own frozen modules (asyncio, ...), or the board's manifest where
# it has one of its own (ports/<port>/boards/<BOARD>/manifest.py: the Pico W's
# brings networking, ntptime among it): include this file from a one-line
# manifest with base="$(BOARD_DIR)/manifest.py" (firmware/Dockerfile does).
include(options.base or "$(PORT_DIR)/boards/manifest.py")

package("ugate", base_path="../shared")
module("mp_platform.py")
for _name in ("mp_tls", "board_uart", "unix_tty", "mp_mdns", "mp_mqtt", "ussl", "board_boot", "board_rom", "board_main",
              "board_start", "board_net", "board_setup", "board_improv", "board_appliance", "board_clock", "board_ota"):
    module(_name + ".py")

# The Microdot modules ugate imports, from the pip-installed package (the same
# set tools/build.py compiles).
_spec = importlib.util.spec_from_file_location("ugate_build", os.path.join("..", "tools", "build.py"))
_build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_build)
package("microdot", files=_build.microdot_modules(_build.sources()),
        base_path=os.path.dirname(_build.microdot_dir()))

# The MicroPython packages from PyPI (umqtt.simple), fetched and checked by
# tools/mpy_packages.py (the same files tools/build.py compiles).
for _rel, _src in _build.mpy_packages.sources():
    module(_rel, base_path=_build.mpy_packages.LIB)
