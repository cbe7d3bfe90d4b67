#!/usr/bin/env python3
"""Checks a loader Image's 64-byte header against Linux's RISC-V layout.

Linux, Documentation/arch/riscv/boot-image-header.rst: code0 (u32), code1
(u32), text_offset (u64), image_size (u64), flags (u64), version (u32), res1
(u32), res2 (u64), magic (u64, "RISCV\\0\\0\\0"), magic2 (u32, "RSC\\x05"),
res3 (u32), all little-endian. The ELF the Image was cut from tells what the
values must be: code0 jumps to _start, image_size covers every section the
loader occupies (.bss and the NOLOAD stacks too), and the Image holds the
ELF's loaded bytes from its first one.

usage: check_image_header.py IMAGE.bin IMAGE.elf
"""

import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples", "reference_loader"))
from check_image import SHF_ALLOC, Elf  # noqa: E402

# (name, struct code, offset as the Linux document gives it)
FIELDS = [("code0", "I", 0), ("code1", "I", 4), ("text_offset", "Q", 8), ("image_size", "Q", 16),
          ("flags", "Q", 24), ("version", "I", 32), ("res1", "I", 36), ("res2", "Q", 40), ("magic", "8s", 48),
          ("magic2", "4s", 56), ("res3", "I", 60)]
HEADER = struct.Struct("<" + "".join(code for _, code, _ in FIELDS))
OFFSETS = {name: offset for name, _, offset in FIELDS}
assert HEADER.size == 64
assert all(struct.calcsize("<" + "".join(code for _, code, _ in FIELDS[:i])) == offset
           for i, (_, _, offset) in enumerate(FIELDS))


def jal_target(instruction):
    """The offset of a `jal x0, offset` (j), or None if it is something else."""
    if instruction & 0x7f != 0x6f or (instruction >> 7) & 0x1f != 0:
        return None
    offset = (((instruction >> 31) & 1) << 20) | (((instruction >> 12) & 0xff) << 12) | \
             (((instruction >> 20) & 1) << 11) | (((instruction >> 21) & 0x3ff) << 1)
    return offset - (1 << 21) if offset & (1 << 20) else offset


def symbol(elf, wanted):
    for section in elf.sections:
        if section[1] != 2:  # SHT_SYMTAB
            continue
        strtab = elf.sections[section[6]][4]
        for at in range(section[4], section[4] + section[5], 24):
            name, _, _, _, value, _ = struct.unpack_from("<IBBHQQ", elf.data, at)
            if name and elf.string(strtab, name) == wanted:
                return value
    return None


def check(image_path, elf_path):
    with open(image_path, "rb") as file:
        image = file.read()
    elf = Elf(elf_path)
    problems = []
    if len(image) < HEADER.size:
        return [f"{image_path}: {len(image)} bytes, shorter than the 64-byte header"]
    fields = dict(zip(OFFSETS, HEADER.unpack_from(image)))

    def expect(name, actual, wanted, why):
        if actual != wanted:
            shown = actual if isinstance(actual, bytes) else f"{actual:#x}"
            shown_wanted = wanted if isinstance(wanted, bytes) else f"{wanted:#x}"
            problems.append(f"{name} (offset {OFFSETS.get(name, '?')}) is {shown}, expected {shown_wanted}: {why}")

    start = symbol(elf, "_start")
    if start is None:
        problems.append(f"{elf_path}: no _start symbol")
    else:
        expect("code0", jal_target(fields["code0"]), start - elf.base, "a jump (j) from byte 0 to _start")
    expect("code1", fields["code1"], 0, "reserved word after the jump")
    expect("text_offset", fields["text_offset"], 0x200000, "RAM base + 2 MiB, as Linux on RV64")
    # The image's memory as the linker laid it out, rounded up to a page.
    memory_end = max(s[3] + s[5] for s in elf.sections if s[2] & SHF_ALLOC)
    expect("image_size", fields["image_size"], (memory_end - elf.base + 4095) & ~4095,
           "every allocated section from the image's start, .bss and the stacks included, to a page")
    if elf.memory_size() > fields["image_size"]:
        problems.append(f"the PT_LOAD segments need {elf.memory_size():#x} bytes, more than image_size")
    if fields["image_size"] < len(image):
        problems.append(f"image_size {fields['image_size']:#x} is smaller than the file ({len(image):#x} bytes)")
    if fields["image_size"] % 4096:
        problems.append(f"image_size {fields['image_size']:#x} is not a whole number of pages")
    expect("flags", fields["flags"], 0, "bit 0 clear: little-endian; the rest reserved")
    expect("version", fields["version"], 2, "header version 0.2 (major << 16 | minor)")
    expect("res1", fields["res1"], 0, "reserved")
    expect("res2", fields["res2"], 0, "reserved")
    expect("magic", fields["magic"], b"RISCV\0\0\0", "Linux's magic")
    expect("magic2", fields["magic2"], b"RSC\x05", "the magic U-Boot's booti checks")
    expect("res3", fields["res3"], 0, "no PE header yet (the EFI door sets it)")
    if elf.entry != elf.base:
        problems.append(f"the ELF's entry {elf.entry:#x} is not the header's first byte {elf.base:#x}")
    if image != elf.image():
        problems.append(f"{image_path} does not hold the ELF's loaded bytes from {elf.base:#x}")
    return problems


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    problems = check(argv[0], argv[1])
    for problem in problems:
        print(f"FAIL: {problem}")
    if not problems:
        print(f"{argv[0]}: Image header ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
