#!/usr/bin/env python3
"""Copies a kernel ELF with its .loader_config changed, for the boot tests
that feed the loader a config it must refuse.

  patch_loader_config.py IN OUT --major N         version_major := N
  patch_loader_config.py IN OUT --byte OFFSET:V   config byte OFFSET := V

The section is found through the section headers (by name, as the loader
finds it); --byte must stay inside the section and inside the config's own
`size`, or the loader would not read the byte and the test would prove
nothing."""

import argparse
import struct
import sys

SHT_NOBITS = 8


def find_section(data, wanted):
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        sys.exit("not a little-endian ELF64 file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
    names_offset, = struct.unpack_from("<Q", data, shoff + shstrndx * shentsize + 0x18)
    for i in range(shnum):
        header = shoff + i * shentsize
        name, kind = struct.unpack_from("<II", data, header)
        offset, size = struct.unpack_from("<QQ", data, header + 0x18)
        end = data.index(b"\0", names_offset + name)
        if data[names_offset + name:end] == wanted and kind != SHT_NOBITS:
            return offset, size
    sys.exit(f"no {wanted.decode()} section")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source")
    parser.add_argument("destination")
    parser.add_argument("--major", type=int)
    parser.add_argument("--byte", metavar="OFFSET:VALUE")
    args = parser.parse_args(argv)
    data = bytearray(open(args.source, "rb").read())
    offset, size = find_section(data, b".loader_config")
    declared, = struct.unpack_from("<I", data, offset + 12)
    if args.major is not None:
        struct.pack_into("<H", data, offset + 8, args.major)
    if args.byte is not None:
        at, value = (int(part, 0) for part in args.byte.split(":"))
        if at >= min(size, declared):
            sys.exit(f"byte {at:#x} is past the section ({size:#x} bytes) or the config's size ({declared:#x})")
        data[offset + at] = value
    open(args.destination, "wb").write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
