#!/usr/bin/env python3
"""make_wx.py IN OUT: copies a kernel ELF and marks its first writable PT_LOAD
executable too, giving bad-kernel-wx exactly one defect (a W+X segment).

Done on the file rather than with an "awx" section in the source: linkers
disagree on that (GNU ld 2.40 keeps one RWX segment, lld 19 splits it off in
the middle of a page, which would add a second defect)."""

import struct
import sys

PT_LOAD, PF_X, PF_W = 1, 1, 2


def main(source, destination):
    data = bytearray(open(source, "rb").read())
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        sys.exit(f"{source}: not a little-endian ELF64 file")
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        at = phoff + i * phentsize
        p_type, p_flags = struct.unpack_from("<II", data, at)
        if p_type == PT_LOAD and p_flags & PF_W:
            struct.pack_into("<I", data, at + 4, p_flags | PF_X)
            open(destination, "wb").write(data)
            return 0
    sys.exit(f"{source}: no writable PT_LOAD")


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
