#!/usr/bin/env python3
"""Writes a damaged copy of a kernel ELF for the boot tests of broken kernel
files.

  truncate_kernel.py IN OUT --bytes N       the first N bytes (a download cut
                                            short: the section header table,
                                            at the end, is gone)
  truncate_kernel.py IN OUT --mid-segment   cut in the middle of the first
                                            PT_LOAD with file bytes, and no
                                            section header table (as after
                                            strip --strip-section-headers),
                                            so that the segment is what the
                                            loader finds missing
"""

import argparse
import struct
import sys

PT_LOAD = 1


def mid_segment(data):
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if p_type == PT_LOAD and p_filesz > 0:
            cut = bytearray(data[:p_offset + p_filesz // 2])
            struct.pack_into("<Q", cut, 0x28, 0)          # e_shoff
            struct.pack_into("<HH", cut, 0x3c, 0, 0)      # e_shnum, e_shstrndx
            return cut
    sys.exit("no PT_LOAD with file bytes")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source")
    parser.add_argument("destination")
    how = parser.add_mutually_exclusive_group(required=True)
    how.add_argument("--bytes", type=int)
    how.add_argument("--mid-segment", action="store_true")
    args = parser.parse_args(argv)
    data = open(args.source, "rb").read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        sys.exit(f"{args.source}: not a little-endian ELF64 file")
    out = data[:args.bytes] if args.bytes is not None else mid_segment(data)
    open(args.destination, "wb").write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
