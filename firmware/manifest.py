# Freeze ugate into your own MicroPython firmware: frozen modules run from
# flash, so the code takes no heap (the gateway then needs RAM only for its
# data). From a MicroPython checkout, with microdot installed (pip) in the
# Python that runs the build:
#
#   make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/ugate/firmware/manifest.py
#   make -C ports/rp2 BOARD=RPI_PICO_W FROZEN_MANIFEST=/path/to/ugate/firmware/manifest.py
#
# Then flash that firmware and deploy with `tools/deploy.py --frozen`: it
# copies main.py, boot.py and the config files only.
import importlib.util
import os

# The port's own frozen modules (asyncio, ...). A board with a manifest of its
# own (ports/<port>/boards/<BOARD>/manifest.py, e.g. networking on some Pico W
# versions) needs "$(BOARD_DIR)/manifest.py" here instead: this file replaces it.
include("$(PORT_DIR)/boards/manifest.py")

package("ugate", base_path="../shared")
module("mp_platform.py")
module("board_uart.py")
module("mp_mdns.py")
module("mp_mqtt.py")
module("ussl.py")

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
