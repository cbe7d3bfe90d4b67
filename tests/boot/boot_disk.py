#!/usr/bin/env python3
"""Builds the boot disk a board's U-Boot would read, without root.

An MBR disk image with one bootable FAT partition at 1 MiB (sfdisk from
fdisk, mformat/mmd/mcopy from mtools) holding the loader image, optionally a
kernel or other initrd, and /extlinux/extlinux.conf, which U-Boot's default
distro_bootcmd finds by itself and runs with booti.

usage: boot_disk.py --loader loader.bin [--initrd kernel.elf] [--append TEXT]
                    [--text-offset N] OUTPUT.img
"""

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile

PARTITION_OFFSET = 1 << 20
SECTOR = 512
# The Image header's text_offset: a little-endian u64 at byte 8
# (Linux, Documentation/arch/riscv/boot-image-header.rst).
TEXT_OFFSET_FIELD = 8


def extlinux_conf(initrd_name, append):
    lines = ["default loader", "label loader", "  kernel /loader.bin"]
    if initrd_name:
        lines.append(f"  initrd /{initrd_name}")
    if append is not None:
        lines.append(f"  append {append}")
    return "\n".join(lines) + "\n"


def with_text_offset(image, text_offset):
    """The image with another text_offset: U-Boot then places it elsewhere in RAM."""
    if image[48:53] != b"RISCV" or image[56:60] != b"RSC\x05":
        raise SystemExit("boot_disk.py: the loader image has no RISC-V Image header (magic at 48, magic2 at 56)")
    return image[:TEXT_OFFSET_FIELD] + struct.pack("<Q", text_offset) + image[TEXT_OFFSET_FIELD + 8:]


def build(output, loader, initrd=None, append=None, text_offset=None):
    with open(loader, "rb") as file:
        image = file.read()
    if text_offset is not None:
        image = with_text_offset(image, text_offset)
    payload = len(image) + (os.path.getsize(initrd) if initrd else 0)
    size = max(32 << 20, (payload * 2 + PARTITION_OFFSET + (8 << 20)) & ~((1 << 20) - 1))
    with open(output, "wb") as file:
        file.truncate(size)
    run(["sfdisk", "--quiet", output], f"start={PARTITION_OFFSET // SECTOR}, type=c, bootable\n")
    volume = f"{output}@@{PARTITION_OFFSET}"
    sectors = (size - PARTITION_OFFSET) // SECTOR
    run(["mformat", "-i", volume, "-T", str(sectors), "-h", "2", "-s", "16", "::"])
    run(["mmd", "-i", volume, "::/extlinux"])
    with tempfile.TemporaryDirectory() as scratch:
        staged_loader = os.path.join(scratch, "loader.bin")
        with open(staged_loader, "wb") as file:
            file.write(image)
        conf = os.path.join(scratch, "extlinux.conf")
        initrd_name = os.path.basename(initrd) if initrd else None
        with open(conf, "w") as file:
            file.write(extlinux_conf(initrd_name, append))
        run(["mcopy", "-i", volume, staged_loader, "::/loader.bin"])
        run(["mcopy", "-i", volume, conf, "::/extlinux/extlinux.conf"])
        if initrd:
            run(["mcopy", "-i", volume, initrd, f"::/{initrd_name}"])


def run(command, stdin=None):
    if shutil.which(command[0]) is None:
        raise SystemExit(f"boot_disk.py: {command[0]} not found (Debian packages fdisk and mtools)")
    result = subprocess.run(command, input=stdin, text=True, capture_output=True)
    if result.returncode != 0:
        raise SystemExit(f"boot_disk.py: {' '.join(command)} failed ({result.returncode}): {result.stderr.strip()}")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loader", required=True, help="the loader's Image (loader.bin)")
    parser.add_argument("--initrd", help="file for extlinux's initrd line (e.g. the kernel ELF for loader-none.bin)")
    parser.add_argument("--append", help="extlinux's append line: the kernel command line")
    parser.add_argument("--text-offset", type=lambda text: int(text, 0),
                        help="rewrite the Image header's text_offset (where U-Boot places the image in RAM)")
    parser.add_argument("output")
    args = parser.parse_args(argv)
    build(args.output, args.loader, args.initrd, args.append, args.text_offset)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
