"""The board's ROMFS partition, for a board that runs ugate from a ROMFS
image: an over-the-air update of such a board is a new image, which lands
in an update slot as `romfs.img` (board_ota). boot.py (board_boot) writes
it into the partition for the trial boot, after keeping the image the
partition held as a file of the slot it belongs to; a roll back writes that
one back. This module reads, checks, keeps and writes images; board_boot
keeps the record of which slot's image the partition holds.

The partition is the block device `vfs.rom_ioctl(2, 0)` gives (rp2.Flash,
esp32.Partition): `writeblocks(n, buf)` erases a block and writes it, as
`mpremote romfs deploy` does. Lives in the flash root beside board_boot, out
of reach of an update; loaded only when an update begins or a boot writes
the partition."""
import os

import vfs

try:
    from vfs import rom_ioctl
except ImportError:  # a MicroPython built without ROMFS
    rom_ioctl = None

#: How a ROMFS image begins (the record kind of a ROMFS filesystem).
HEADER = b"\xd2\xcd\x31"
MOUNT = "/rom"


def partition():
    """The ROMFS partition's block device, or None where there is none."""
    if rom_ioctl is None or rom_ioctl(1) < 1:
        return None
    dev = rom_ioctl(2, 0)
    return None if isinstance(dev, int) else dev  # an int is an error code


def capacity(dev):
    return dev.ioctl(4, 0) * dev.ioctl(5, 0)


def image_size(head):
    """The size of the ROMFS image that begins with the bytes `head`: its
    header and the payload length its header gives; 0 for no image."""
    if head[:3] != HEADER:
        return 0
    size = 0
    for at in range(3, len(head)):
        size = (size << 7) | (head[at] & 0x7F)
        if not head[at] & 0x80:
            return at + 1 + size
    return 0


def held(dev):
    """The size of the image the partition holds, 0 for none."""
    head = bytearray(12)
    dev.readblocks(0, head)
    return image_size(head)


def check(path, keeping):
    """The image in the file `path` as written to flash: it must be a ROMFS
    image that fills the file and fits the partition, and with `keeping`
    the flash must have room to keep the partition's image for a roll back.
    Returns an error message, or None."""
    dev = partition()
    if dev is None:
        return "this board's MicroPython has no ROMFS partition"
    size = os.stat(path)[6]
    with open(path, "rb") as f:
        declared = image_size(f.read(12))
    if declared != size:
        return "{} is not a ROMFS image of {} bytes".format(path.rsplit("/", 1)[-1], size)
    if size > capacity(dev):
        return "the image has {} bytes; the ROMFS partition holds {}".format(size, capacity(dev))
    stat = os.statvfs(".")  # the flash root's filesystem
    free, running = stat[1] * stat[4], held(dev)
    if keeping and running > free:
        return "keeping the running image for a roll back needs {} KB of flash; {} KB are free".format(
            running // 1024, free // 1024)
    return None


def keep(dev, path):
    """Copy the partition's image to the file `path`."""
    size, block = held(dev), dev.ioctl(5, 0)
    buf = bytearray(block)
    with open(path + ".tmp", "wb") as f:
        for n in range((size + block - 1) // block):
            dev.readblocks(n, buf)
            f.write(memoryview(buf)[:min(block, size - n * block)])
    os.rename(path + ".tmp", path)


def write(dev, path):
    """Write the image in the file `path` into the partition, a block at a
    time, and mount it at /rom again."""
    try:
        vfs.umount(MOUNT)
    except OSError:
        pass  # not mounted: the partition held no image
    block = dev.ioctl(5, 0)
    buf = bytearray(block)
    with open(path, "rb") as f:
        n = 0
        while True:
            got = f.readinto(buf)
            if not got:
                break
            for i in range(got, block):
                buf[i] = 0xFF  # as erased
            dev.writeblocks(n, buf)
            n += 1
    vfs.mount(vfs.VfsRom(dev), MOUNT)

