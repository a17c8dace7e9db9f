# What the 32-bit twin freezes: asyncio, as a board's firmware does, and
# the hardware stand-ins (tests/standins), built in as a board's network,
# machine, ntptime and ROMFS partition are. With UGATE_FROZEN=1 in the environment, ugate
# too, as firmware/manifest.py freezes it into a board's firmware.
import os

if os.environ.get("UGATE_FROZEN") == "1":
    include("../../firmware/manifest.py", base="$(MPY_DIR)/extmod/asyncio")
else:
    include("$(MPY_DIR)/extmod/asyncio")
for _name in ("_standin", "machine", "network", "ntptime", "romfs_partition"):
    module(_name + ".py", base_path="../../tests/standins")
