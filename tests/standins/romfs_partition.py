"""Stand-in for a board's ROMFS partition as its firmware has it:
`vfs.rom_ioctl(2, 0)` gives the partition's block device (as rp2.Flash and
esp32.Partition do: 4 KB blocks, `writeblocks(n, buf)` erases a block and
writes it; `vfs.VfsRom` maps it), where the unix port's gives the image's
memory only. A board that runs from ROMFS imports it before boot.py
(tests/test_board_appliance.py, tools/board_live.py). That memory is the
partition's file mapped shared (ugate_host.romfs --persist, the 32-bit
twin's MICROPY_ROMFS), so what is written outlives a reset."""
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
        return self.flash if op == 2 and args[0] == 0 else self.real.rom_ioctl(op, *args)

    def VfsRom(self, memory):
        return self.real.VfsRom(self.flash.memory if memory is self.flash else memory)


_memory = vfs.rom_ioctl(2, 0)
sys.modules["vfs"] = Vfs(vfs, Flash(uctypes.bytearray_at(uctypes.addressof(_memory), len(_memory))))
del _memory
