#!/bin/sh
# firmware/romfs_board.sh PORT_DIR BOARD KB: makes PORT_DIR/boards/UGATE_ROMFS,
# MicroPython's board BOARD with a ROMFS partition of KB kilobytes, for ugate
# installed as a ROMFS image (README "Firmware recipes"). PORT_DIR is a
# MicroPython checkout's ports/esp32 or ports/rp2. firmware/Dockerfile runs it.
set -eu
port=$1 board=$2 kb=$3
dir=$port/boards/UGATE_ROMFS
rm -rf "$dir"
cp -r "$port/boards/$board" "$dir"
case "$port" in
*esp32)
    # The esp32 port has ROMFS off; its partition is the data partition
    # named romfs (subtype 0x8f), here after a 2 MB app, and the filesystem
    # takes the flash after it.
    echo '#define MICROPY_VFS_ROM (1)' >> "$dir/mpconfigboard.h"
    printf '%s\n' 'nvs,      data, nvs,     0x9000,   0x6000,' 'phy_init, data, phy,     0xf000,   0x1000,' \
        'factory,  app,  factory, 0x10000,  0x1F0000,' "romfs,    data, 0x8f,    0x200000, $((kb * 1024))," \
        > "$dir/partitions-romfs.csv"
    echo "CONFIG_PARTITION_TABLE_CUSTOM_FILENAME=\"$dir/partitions-romfs.csv\"" > "$dir/sdkconfig.romfs"
    echo "list(APPEND SDKCONFIG_DEFAULTS $dir/sdkconfig.romfs)" >> "$dir/mpconfigboard.cmake"
    ;;
*rp2)
    # The rp2 port puts the ROMFS partition at the top of the code space,
    # below the filesystem.
    echo "#define MICROPY_HW_ROMFS_BYTES ($kb * 1024)" >> "$dir/mpconfigboard.h"
    ;;
*)
    echo "romfs_board.sh: no ROMFS recipe for $port" >&2
    exit 1
    ;;
esac
