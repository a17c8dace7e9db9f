// The 32-bit twin of a board: MicroPython's unix port with the standard
// variant's features, built for i686 (tools/board_live.py build), and a
// ROMFS image read from the file MICROPY_ROMFS names into memory outside
// the GC heap (romfs-file.patch), as a board maps its ROMFS partition.
#define MICROPY_CONFIG_ROM_LEVEL (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)
#include "variants/mpconfigvariant_common.h"
#undef MICROPY_VFS_ROM_IOCTL
#define MICROPY_VFS_ROM_IOCTL (1)
