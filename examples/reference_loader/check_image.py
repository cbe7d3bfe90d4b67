#!/usr/bin/env python3
"""Proves a loader image position independent, then writes its raw Image.

The loader relocates itself (entry.S) by applying R_RISCV_RELATIVE entries
for the distance between where it runs and where it was linked. Whatever
else in the image holds an address would be wrong at any other place, and
no relocation type or linker-script trick escapes this test: the same
objects are linked a second time at another base (LOADER_LINK_BASE), and
every byte of the two loaded images must agree, except the words that a
R_RISCV_RELATIVE relocation rewrites at run time. The dynamic relocations
must be those and nothing else, and land in the image's stored bytes (a
relocated word in .bss would be cleared after it was written).

The raw image (the bytes of the PT_LOAD segments from the first one's start,
gaps zero-filled: what booti loads) is written only when the check passes.

usage: check_image.py IMAGE.elf MOVED.elf [--output IMAGE.bin]
"""

import argparse
import struct
import sys

PT_LOAD = 1
SHT_SYMTAB = 2
SHT_RELA = 4
SHF_ALLOC = 2
R_RISCV_RELATIVE = 3
LINK_TIME_METADATA = {".rela.dyn", ".dynamic", ".dynsym", ".dynstr", ".hash", ".gnu.hash"}
RELOCATION_NAMES = {1: "R_RISCV_32", 2: "R_RISCV_64", 3: "R_RISCV_RELATIVE", 4: "R_RISCV_COPY",
                    5: "R_RISCV_JUMP_SLOT", 6: "R_RISCV_TLS_DTPMOD32", 7: "R_RISCV_TLS_DTPMOD64"}


class ImageError(Exception):
    pass


class Elf:
    def __init__(self, path):
        self.path = path
        with open(path, "rb") as file:
            self.data = file.read()
        if self.data[:4] != b"\x7fELF" or self.data[4] != 2 or self.data[5] != 1:
            raise ImageError(f"{path}: not a little-endian ELF64 file")
        self.entry, phoff, shoff = struct.unpack_from("<QQQ", self.data, 24)
        phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from("<HHHHH", self.data, 54)
        self.segments = [struct.unpack_from("<IIQQQQQQ", self.data, phoff + i * phentsize) for i in range(phnum)]
        self.sections = [struct.unpack_from("<IIQQQQIIQQ", self.data, shoff + i * shentsize) for i in range(shnum)]
        names = self.sections[shstrndx]
        self.section_names = [self.string(names[4], section[0]) for section in self.sections]
        self.loads = [s for s in self.segments if s[0] == PT_LOAD]
        if not self.loads:
            raise ImageError(f"{path}: no PT_LOAD segment")
        self.base = min(s[3] for s in self.loads)

    def section(self, name):
        for index, section in enumerate(self.sections):
            if self.section_names[index] == name:
                return section
        return None

    def string(self, table_offset, index):
        end = self.data.index(b"\0", table_offset + index)
        return self.data[table_offset + index:end].decode()

    def image(self):
        """The loaded bytes from the base: file contents, gaps and nothing past the last stored byte."""
        size = max(s[3] + s[5] - self.base for s in self.loads)
        image = bytearray(size)
        for _, _, offset, vaddr, _, filesz, _, _ in self.loads:
            image[vaddr - self.base:vaddr - self.base + filesz] = self.data[offset:offset + filesz]
        return bytes(image)

    def memory_size(self):
        return max(s[3] + s[6] - self.base for s in self.loads)

    def dynamic_relocations(self):
        """(offset from base, type, addend - base) of every relocation the image applies at run time."""
        result = []
        for section in self.sections:
            _, sh_type, flags, _, offset, size, _, _, _, entsize = section
            if sh_type != SHT_RELA or not flags & SHF_ALLOC:
                continue
            for at in range(offset, offset + size, entsize or 24):
                r_offset, r_info, r_addend = struct.unpack_from("<QQq", self.data, at)
                result.append((r_offset - self.base, r_info, r_addend - self.base))
        return result

    def where(self, image_offset):
        """'section+0x.. (symbol+0x..)' for an offset from the base."""
        address = self.base + image_offset
        place = f"image offset {image_offset:#x}"
        for index, section in enumerate(self.sections):
            _, _, flags, addr, _, size, _, _, _, _ = section
            if flags & SHF_ALLOC and addr <= address < addr + size:
                place += f", {self.section_names[index]}+{address - addr:#x}"
        # The nearest symbol at or below, in the same section, skipping file
        # names and the assembler's mapping symbols ($d, $x).
        best = None
        for section in self.sections:
            if section[1] != SHT_SYMTAB:
                continue
            strtab = self.sections[section[6]][4]
            for at in range(section[4], section[4] + section[5], 24):
                name, info, _, shndx, value, _ = struct.unpack_from("<IBBHQQ", self.data, at)
                if not name or shndx >= len(self.sections) or info & 0xf == 4 or value > address:
                    continue
                _, _, _, addr, _, size, _, _, _, _ = self.sections[shndx]
                symbol = self.string(strtab, name)
                if addr <= address < addr + size and not symbol.startswith("$") and (best is None or value > best[0]):
                    best = (value, symbol)
        if best:
            place += f", {best[1]}+{address - best[0]:#x}"
        return place


def check(image_path, moved_path):
    linked, moved = Elf(image_path), Elf(moved_path)
    problems = []
    if linked.base == moved.base:
        raise ImageError(f"{moved_path}: linked at the same base as {image_path} ({linked.base:#x}); nothing to compare")
    if linked.entry - linked.base != 0:
        problems.append(f"the entry point is at image offset {linked.entry - linked.base:#x}, not at the Image header")
    relocations, moved_relocations = linked.dynamic_relocations(), moved.dynamic_relocations()
    if len(relocations) != len(moved_relocations):
        problems.append(f"{len(relocations)} dynamic relocations, {len(moved_relocations)} in the second link")
    for (offset, info, addend), (moved_offset, _, moved_addend) in zip(relocations, moved_relocations):
        if offset != moved_offset:
            problems.append(f"a dynamic relocation at {linked.where(offset)} is at image offset {moved_offset:#x} "
                            "in the second link")
        elif addend != moved_addend:
            problems.append(f"the relocation at {linked.where(offset)} writes {addend + linked.base:#x} here and "
                            f"{moved_addend + moved.base:#x} in the second link: not an address in the image "
                            "(an absolute symbol?)")
    image, other = linked.image(), moved.image()
    if len(image) != len(other):
        problems.append(f"the two links have different sizes ({len(image)} and {len(other)} bytes)")
    # The relocation table and .dynamic hold link addresses by design: entry.S
    # reads them as such. The symbol tables are read by nothing.
    rewritten = set()
    for index, section in enumerate(linked.sections):
        _, _, flags, addr, _, size, _, _, _, _ = section
        if flags & SHF_ALLOC and linked.section_names[index] in LINK_TIME_METADATA:
            rewritten.update(range(addr - linked.base, addr - linked.base + size))
    # GOT[0], reserved for a dynamic linker, holds _DYNAMIC's link address
    # (the psABI's convention); nothing in the loader reads it.
    got, dynamic = linked.section(".got"), linked.section(".dynamic")
    if got and dynamic and got[5] >= 8:
        first = struct.unpack_from("<Q", image, got[3] - linked.base)[0]
        if first == dynamic[3]:
            rewritten.update(range(got[3] - linked.base, got[3] - linked.base + 8))
    for offset, info, _ in relocations:
        if info != R_RISCV_RELATIVE:
            name = RELOCATION_NAMES.get(info & 0xffffffff, f"type {info & 0xffffffff}")
            problems.append(f"dynamic relocation {name} at {linked.where(offset)}: entry.S applies only "
                            "R_RISCV_RELATIVE")
        elif offset + 8 > len(image):
            problems.append(f"R_RISCV_RELATIVE at {linked.where(offset)} targets memory the image does not store "
                            "(.bss or NOLOAD): cleared after relocation")
        rewritten.update(range(offset, offset + 8))
    unrelocated = []
    block = 4096
    for start in range(0, min(len(image), len(other)), block):
        if image[start:start + block] == other[start:start + block]:
            continue
        for offset in range(start, min(start + block, len(image), len(other))):
            if image[offset] != other[offset] and offset not in rewritten:
                if not unrelocated or offset >= unrelocated[-1] + 8:
                    unrelocated.append(offset)
    # Shown as the aligned 8-byte words that hold the first differing bytes.
    unrelocated = sorted({offset & ~7 for offset in unrelocated})
    for offset in unrelocated[:10]:
        word = image[offset:offset + 8].ljust(8, b"\0")
        problems.append(f"{linked.where(offset)}: bytes {word.hex()} depend on the link address "
                        f"({linked.base:#x} here, {moved.base:#x} in the second link) and no relocation "
                        "rewrites them at run time")
    if len(unrelocated) > 10:
        problems.append(f"... and {len(unrelocated) - 10} more places")
    return problems, image


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image", help="the loader image (ELF)")
    parser.add_argument("moved", help="the same objects linked at another base (LOADER_LINK_BASE)")
    parser.add_argument("--output", help="where to write the raw Image when the check passes")
    args = parser.parse_args(argv)
    try:
        problems, image = check(args.image, args.moved)
    except ImageError as error:
        print(f"check_image.py: {error}", file=sys.stderr)
        return 1
    if problems:
        print(f"check_image.py: {args.image} is not position independent:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    if args.output:
        with open(args.output, "wb") as file:
            file.write(image)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
