#!/usr/bin/env python3
"""Checks a loader image's headers: Linux's RISC-V Image header and the PE32+
header of the EFI door, field by field, against the ELF the image was cut from.

Linux, Documentation/arch/riscv/boot-image-header.rst: code0 (u32), code1
(u32), text_offset (u64), image_size (u64), flags (u64), version (u32), res1
(u32), res2 (u64), magic (u64, "RISCV\\0\\0\\0"), magic2 (u32, "RSC\\x05"),
res3 (u32), all little-endian. The ELF the Image was cut from tells what the
values must be: code0 jumps to _start, image_size covers every section the
loader occupies (.bss and the NOLOAD stacks too), and the Image holds the
ELF's loaded bytes from its first one.

The PE part (Microsoft's PE format, UEFI 2.10 section 2.1.1): "MZ" at 0, the
PE header's offset at 0x3c (the Image header's res3), machine RISC-V 64,
subsystem EFI application, a .text section from the first page to the data
and a .data section from there to the end of the image (its stored part
exactly the rest of the file), entry loader_efi_entry; and llvm-readobj, an
independent reader, must accept it.

usage: check_image_header.py IMAGE.bin IMAGE.elf [LLVM_READOBJ]
"""

import os
import re
import struct
import subprocess
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


PE_FILE_HEADER = struct.Struct("<4sHHIIIHH")
PE_OPTIONAL = struct.Struct("<HBBIIIIIQIIHHHHHHIIIIHHQQQQII")
PE_SECTION = struct.Struct("<8sIIIIIIHHI")


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
        # "MZ" is c.li s4, -13; the jump follows at byte 2.
        expect("code0", fields["code0"] & 0xffff, 0x5a4d, "\"MZ\" (c.li s4, -13), the DOS magic EFI needs")
        jump = struct.unpack_from("<I", image, 2)[0]
        expect("code0", jal_target(jump), start - elf.base - 2, "then a jump (j) from byte 2 to _start")
        expect("code1", fields["code1"] >> 16, 0, "padding after the jump")
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
    expect("res3", fields["res3"], 0x40, "the PE header's offset (e_lfanew), right after the Image header")
    problems += check_pe(image, elf, fields["res3"], fields["image_size"])
    if elf.entry != elf.base:
        problems.append(f"the ELF's entry {elf.entry:#x} is not the header's first byte {elf.base:#x}")
    if image != elf.image():
        problems.append(f"{image_path} does not hold the ELF's loaded bytes from {elf.base:#x}")
    return problems


def check_pe(image, elf, offset, image_size):
    problems = []

    def expect(name, actual, wanted, why):
        if actual != wanted:
            problems.append(f"PE {name} is {actual!r}, expected {wanted!r}: {why}")

    if offset + PE_FILE_HEADER.size + PE_OPTIONAL.size > len(image):
        return [f"PE header at {offset:#x} runs past the file"]
    signature, machine, sections, _, _, _, optional_size, characteristics = PE_FILE_HEADER.unpack_from(image, offset)
    expect("signature", signature, b"PE\0\0", "PE signature")
    expect("Machine", machine, 0x5064, "IMAGE_FILE_MACHINE_RISCV64")
    expect("NumberOfSections", sections, 2, ".text and .data")
    expect("Characteristics", characteristics, 0x206, "executable image, line numbers and debug info stripped")
    optional = offset + PE_FILE_HEADER.size
    fields = PE_OPTIONAL.unpack_from(image, optional)
    (magic, _, _, size_of_code, initialized, uninitialized, entry, base_of_code, image_base, section_alignment,
     file_alignment, _, _, _, _, _, _, _, size_of_image, size_of_headers, _, subsystem, dll, *_rest) = fields
    directories = fields[-1]
    expect("Magic", magic, 0x20b, "PE32+")
    expect("Subsystem", subsystem, 10, "EFI application")
    expect("SectionAlignment", section_alignment, 4096, "pages")
    expect("FileAlignment", file_alignment, 512, "the sectors FAT stores")
    expect("SizeOfImage", size_of_image, image_size, "the Image header's image_size: .bss and stacks included")
    expect("ImageBase", image_base, 0, "the image relocates itself")
    expect("DllCharacteristics", dll, 0, "none")
    efi_entry = symbol(elf, "loader_efi_entry")
    start = symbol(elf, "_start")
    data = symbol(elf, "__loader_data_start")
    if None in (efi_entry, start, data):
        return problems + ["the ELF lacks loader_efi_entry, _start or __loader_data_start"]
    expect("AddressOfEntryPoint", entry, efi_entry - elf.base, "loader_efi_entry")
    expect("entry alignment", entry % 4, 0, "a 4-byte aligned entry")
    expect("SizeOfHeaders", size_of_headers, start - elf.base, "the header page, up to _start")
    expect("BaseOfCode", base_of_code, start - elf.base, "_start")
    expect("SizeOfCode", size_of_code, data - start, "_start to the data")
    expect("SizeOfInitializedData", initialized, len(image) - (data - elf.base), "the stored data")
    expect("SizeOfUninitializedData", uninitialized, image_size - len(image), ".stacks and .bss")
    expect("optional header size", optional_size, PE_OPTIONAL.size + 8 * directories, "standard + Windows fields + directories")
    for index in range(directories):
        rva, size = struct.unpack_from("<II", image, optional + PE_OPTIONAL.size + 8 * index)
        expect(f"data directory {index}", (rva, size), (0, 0), "no tables (no base relocations either)")
    table = optional + optional_size
    wanted = [(b".text\0\0\0", start - elf.base, data - start, start - elf.base, data - start, 0x60000020),
              (b".data\0\0\0", data - elf.base, image_size - (data - elf.base), data - elf.base,
               len(image) - (data - elf.base), 0xc0000040)]
    for index, (name, address, virtual, pointer, raw, flags) in enumerate(wanted):
        got = PE_SECTION.unpack_from(image, table + index * PE_SECTION.size)
        expect(f"section {index} name", got[0], name, "")
        expect(f"section {index} VirtualSize", got[1], virtual, "the whole section in memory")
        expect(f"section {index} VirtualAddress", got[2], address, "where the ELF puts it")
        expect(f"section {index} SizeOfRawData", got[3], raw, "the stored bytes")
        expect(f"section {index} PointerToRawData", got[4], pointer, "file offset = image offset")
        expect(f"section {index} Characteristics", got[9], flags, "code RX, data RW")
        if got[3] % file_alignment or got[4] % file_alignment:
            problems.append(f"PE section {index}: raw data not aligned to FileAlignment {file_alignment}")
    if table + len(wanted) * PE_SECTION.size > size_of_headers:
        problems.append("the PE section table runs past SizeOfHeaders")
    return problems


def check_with_readobj(readobj, image_path):
    result = subprocess.run([readobj, "--file-headers", "--sections", image_path], capture_output=True, text=True)
    if result.returncode != 0:
        return [f"{readobj} rejects the image: {result.stderr.strip()}"]
    problems = []
    for pattern in (r"Machine: 0x5064", r"Subsystem: IMAGE_SUBSYSTEM_EFI_APPLICATION", r"Name: \.text", r"Name: \.data"):
        if not re.search(pattern, result.stdout):
            problems.append(f"{readobj} does not show {pattern!r}")
    return problems


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    problems = check(argv[0], argv[1])
    if len(argv) == 3:
        problems += check_with_readobj(argv[2], argv[0])
    for problem in problems:
        print(f"FAIL: {problem}")
    if not problems:
        print(f"{argv[0]}: Image header ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
