"""Stand-in for a board's ROMFS partition as its firmware has it:
`vfs.rom_ioctl(2, 0)` gives the partition's block device (as rp2.Flash and
esp32.Partition do: 4 KB blocks, `writeblocks(n, buf)` erases a block and
writes it; `vfs.VfsRom` maps it), over the partition's memory: what the
32-bit twin's rom_ioctl gives (the file MICROPY_ROMFS names, mapped), or
where ugate_host.romfs mapped the file (UGATE_ROM, "address:size": the
unix port from PyPI has no rom_ioctl). A board that runs from ROMFS
imports it before boot.py (tests/test_board_appliance.py,
tools/board_live.py). The file is mapped shared, so what is written
outlives a reset."""
import os
import sys

import uctypes
import vfs

BLOCK = 4096


class Flash:
    def __init__(self, memory):
        self.memory = memory

    def ioctl(self, op, arg):
        return len(self.memory) // BLOCK if op == 4 else BLOCK if op == 5 else 0

    def readblocks(self, n, buf, offset=0):
        at = n * BLOCK + offset
        buf[:] = self.memory[at:at + len(buf)]

    def writeblocks(self, n, buf, offset=0):
        at = n * BLOCK + offset
        self.memory[at:at + len(buf)] = buf


class Vfs:
    """vfs, with the block device behind rom_ioctl, which VfsRom maps."""

    def __init__(self, real, flash):
        self.real, self.flash = real, flash

    def __getattr__(self, name):
        return getattr(self.real, name)

    def rom_ioctl(self, op, *args):
        return 1 if op == 1 else self.flash if op == 2 and args[0] == 0 else -22  # -EINVAL

    def VfsRom(self, memory):
        return self.real.VfsRom(self.flash.memory if memory is self.flash else memory)


try:
    _rom = vfs.rom_ioctl(2, 0)
    _address, _size = uctypes.addressof(_rom), len(_rom)
except AttributeError:
    _address, _size = (int(n) for n in os.getenv("UGATE_ROM").split(":"))
sys.modules["vfs"] = Vfs(vfs, Flash(uctypes.bytearray_at(_address, _size)))
