#!/usr/bin/env python3
"""Builds the boot disk a board's U-Boot would read, without root.

An MBR disk image with one bootable FAT partition at 1 MiB (sfdisk from
fdisk, mformat/mmd/mcopy from mtools). U-Boot's default distro_bootcmd finds
what is on it by itself:
- booti: the loader image, optionally a kernel or other initrd, and
  /extlinux/extlinux.conf;
- --efi: an EFI system partition with the loader as
  /EFI/BOOT/BOOTRISCV64.EFI and any --file; with --append also /boot.scr, a
  U-Boot script (legacy image, written here: no mkimage needed) that sets
  `bootargs`, which U-Boot's bootefi passes as the load options.

usage: boot_disk.py --loader loader.bin [--initrd kernel.elf] [--append TEXT]
                    [--text-offset N] [--efi] [--file DISK_PATH=FILE ...] OUTPUT.img
"""

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

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


def script_image(text):
    """A U-Boot script as `source` reads it: a legacy image header (big-endian,
    magic 0x27051956, type 6 script) over a one-entry length table and the text."""
    data = struct.pack(">II", len(text), 0) + text
    header = struct.pack(">IIIIIIIBBBB32s", 0x27051956, 0, 0, len(data), 0, 0, zlib.crc32(data),
                         5, 26, 6, 0, b"loader boot script")  # Linux, RISC-V, script, uncompressed
    header = header[:4] + struct.pack(">I", zlib.crc32(header)) + header[8:]
    return header + data


def efi_boot_script(load_options, drop_rng_seed=False):
    # Single quotes keep the text whole for U-Boot's shell; it holds none.
    if "'" in load_options:
        raise SystemExit("boot_disk.py: load options with a single quote cannot go into boot.scr")
    tree = "${fdtcontroladdr}"
    # U-Boot's shell takes a backslash as an escape even between single quotes.
    quoted = load_options.replace("\\", "\\\\")
    script = f"setenv bootargs '{quoted}'\n"
    if drop_rng_seed:
        # On a copy: U-Boot 2023.01 crashes in bootefi when its own control
        # tree is edited in place.
        script += ("fdt addr ${fdtcontroladdr}\nfdt move ${fdtcontroladdr} ${fdt_addr_r} 0x20000\n"
                   "fdt rm /chosen rng-seed\n")
        tree = "${fdt_addr_r}"
    script += ("load ${devtype} ${devnum}:${distro_bootpart} ${kernel_addr_r} efi/boot/bootriscv64.efi\n"
               f"bootefi ${{kernel_addr_r}} {tree}\n")
    return script.encode()


def build(output, loader, initrd=None, append=None, text_offset=None, efi=False, files=None, drop_rng_seed=False):
    files = dict(files or {})
    with open(loader, "rb") as file:
        image = file.read()
    if text_offset is not None:
        image = with_text_offset(image, text_offset)
    payload = len(image) + (os.path.getsize(initrd) if initrd else 0) + sum(os.path.getsize(f) for f in files.values())
    size = max(32 << 20, (payload * 2 + PARTITION_OFFSET + (8 << 20)) & ~((1 << 20) - 1))
    with open(output, "wb") as file:
        file.truncate(size)
    run(["sfdisk", "--quiet", output], f"start={PARTITION_OFFSET // SECTOR}, type=c, bootable\n")
    volume = f"{output}@@{PARTITION_OFFSET}"
    sectors = (size - PARTITION_OFFSET) // SECTOR
    run(["mformat", "-i", volume, "-T", str(sectors), "-h", "2", "-s", "16", "::"])
    if efi:
        build_esp(volume, image, append, files, drop_rng_seed)
        return
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


def build_esp(volume, image, load_options, files, drop_rng_seed):
    with tempfile.TemporaryDirectory() as scratch:
        staged = os.path.join(scratch, "BOOTRISCV64.EFI")
        with open(staged, "wb") as file:
            file.write(image)
        files["/EFI/BOOT/BOOTRISCV64.EFI"] = staged
        if load_options is not None or drop_rng_seed:
            script = os.path.join(scratch, "boot.scr")
            with open(script, "wb") as file:
                file.write(script_image(efi_boot_script(load_options or "", drop_rng_seed)))
            files["/boot.scr"] = script
        made = set()
        for disk_path, host_path in sorted(files.items()):
            parts = disk_path.strip("/").split("/")
            for depth in range(1, len(parts)):
                directory = "/".join(parts[:depth])
                if directory not in made:
                    run(["mmd", "-i", volume, "::/" + directory])
                    made.add(directory)
            run(["mcopy", "-i", volume, host_path, "::/" + "/".join(parts)])


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
    parser.add_argument("--append", help="extlinux's append line (the kernel command line), or with --efi the "
                                         "load options")
    parser.add_argument("--text-offset", type=lambda text: int(text, 0),
                        help="rewrite the Image header's text_offset (where U-Boot places the image in RAM)")
    parser.add_argument("--efi", action="store_true",
                        help="an EFI system partition: the loader as /EFI/BOOT/BOOTRISCV64.EFI, --append as the load "
                             "options (through /boot.scr)")
    parser.add_argument("--file", action="append", default=[], metavar="DISK_PATH=FILE",
                        help="with --efi: also copy FILE to DISK_PATH (e.g. /EFI/BOOT/kernel.elf=my-kernel.elf)")
    parser.add_argument("--drop-rng-seed", action="store_true",
                        help="with --efi: boot.scr removes /chosen/rng-seed from the tree U-Boot passes")
    parser.add_argument("output")
    args = parser.parse_args(argv)
    if args.efi and (args.initrd or args.text_offset is not None):
        parser.error("--initrd and --text-offset are for booti; an EFI loader reads its files by --file")
    files = dict(item.split("=", 1) for item in args.file)
    build(args.output, args.loader, args.initrd, args.append, args.text_offset, args.efi, files, args.drop_rng_seed)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
