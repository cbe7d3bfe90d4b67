#!/usr/bin/env python3
"""Checks the kernel ELF files with riscv64-linux-gnu-readelf.

Good kernels (--pie FILE, --fixed FILE):
  - PIE: ET_DYN, no PT_INTERP, every dynamic relocation R_RISCV_RELATIVE (or
    RELR), none aimed at a non-writable segment (no text relocations);
  - fixed: ET_EXEC, every PT_LOAD in the higher half (>= --higher-half), no
    dynamic relocations;
  - both: a .loader_config of sizeof(LoaderConfig) bytes holding a valid
    header (magic, version 1, size), no PT_LOAD both writable and executable,
    every PT_LOAD page-aligned.
Bad kernels (--bad-<defect> FILE) must pass all of that except exactly
their defect: no-config (no .loader_config), wx (one RWX PT_LOAD), reloc
(some relocation other than RELATIVE), huge-stack (config stack_size of
20 GiB), huge-image (64 MiB or more of PT_LOAD memory).

GNU ld 2.40 sets DT_TEXTREL on a PIE that uses local-exec TLS and leaves
R_RISCV_NONE placeholders although it relocates no text; R_RISCV_NONE is
ignored, and DT_TEXTREL only counts when a real relocation targets a
read-only segment (reported as a note otherwise).
"""

import argparse
import re
import struct
import subprocess
import sys

LOADER_CONFIG_SIZE = 56
LOADER_CONFIG_MAGIC = 0x47464E4F4352444C  # "LDRCONFG"
PAGE = 4096
HUGE_STACK = 20 << 30


def readelf(tool, path, *options):
    return subprocess.run([tool, "-W", *options, path], check=True, capture_output=True, text=True).stdout


class Elf:
    def __init__(self, tool, path):
        self.path = path
        header = readelf(tool, path, "-h")
        self.type = re.search(r"Type:\s+(\w+)", header).group(1)
        self.sections = {}
        for m in re.finditer(r"^\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)",
                             readelf(tool, path, "-S"), re.M):
            self.sections[m.group(1)] = (int(m.group(3), 16), int(m.group(4), 16), int(m.group(5), 16))
        self.segments = []
        for m in re.finditer(r"^\s+([A-Z_]+|LOOS\+\w+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+"
                             r"0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+([RWE ]+?)\s+0x([0-9a-f]+)$",
                             readelf(tool, path, "-l"), re.M):
            self.segments.append({"type": m.group(1), "offset": int(m.group(2), 16), "vaddr": int(m.group(3), 16),
                                  "filesz": int(m.group(5), 16), "memsz": int(m.group(6), 16),
                                  "flags": m.group(7).replace(" ", ""), "align": int(m.group(8), 16)})
        self.relocations = []  # (offset, type)
        for m in re.finditer(r"^([0-9a-f]{16})\s+[0-9a-f]+\s+(R_RISCV_\w+)", readelf(tool, path, "-r"), re.M):
            self.relocations.append((int(m.group(1), 16), m.group(2)))
        dynamic = readelf(tool, path, "-d")
        self.textrel = "TEXTREL" in dynamic
        self.relr = "(RELR)" in dynamic
        with open(path, "rb") as f:
            self.data = f.read()

    def loads(self):
        return [s for s in self.segments if s["type"] == "LOAD"]

    def config(self):
        if ".loader_config" not in self.sections:
            return None
        _, offset, size = self.sections[".loader_config"]
        return self.data[offset:offset + size]


def check(elf, kind, higher_half):
    """Returns the list of problems (empty: as it should be) and notes."""
    problems, notes = [], []
    want_pie = kind != "fixed"
    defect = kind[4:] if kind.startswith("bad-") else None

    if want_pie and elf.type != "DYN":
        problems.append(f"ELF type {elf.type}, expected DYN (PIE)")
    if not want_pie and elf.type != "EXEC":
        problems.append(f"ELF type {elf.type}, expected EXEC")
    if any(s["type"] == "INTERP" for s in elf.segments):
        problems.append("has PT_INTERP")

    loads = elf.loads()
    if not loads:
        problems.append("no PT_LOAD")
    for s in loads:
        if s["vaddr"] % PAGE or s["offset"] % PAGE or s["align"] < PAGE:
            problems.append(f"PT_LOAD at {s['vaddr']:#x} not page-aligned (offset {s['offset']:#x}, align {s['align']:#x})")
        if not want_pie and s["vaddr"] < higher_half:
            problems.append(f"PT_LOAD at {s['vaddr']:#x} below the higher half {higher_half:#x}")
    for a, b in zip(loads, loads[1:]):
        if (a["vaddr"] + a["memsz"] + PAGE - 1) // PAGE * PAGE > b["vaddr"]:
            problems.append(f"PT_LOADs at {a['vaddr']:#x} and {b['vaddr']:#x} share a page")
    wx = [s for s in loads if "W" in s["flags"] and "E" in s["flags"]]
    image_bytes = sum(s["memsz"] for s in loads)
    if defect == "huge-image":
        if image_bytes < (64 << 20):
            problems.append(f"image is {image_bytes} bytes, expected at least 64 MiB")
    elif image_bytes >= (64 << 20):
        problems.append(f"image is {image_bytes} bytes")
    if defect == "wx":
        if len(wx) != 1:
            problems.append(f"{len(wx)} W+X PT_LOADs, expected exactly 1")
    elif wx:
        problems.append(f"W+X PT_LOAD at {wx[0]['vaddr']:#x}")

    relocations = [r for r in elf.relocations if r[1] != "R_RISCV_NONE"]
    unsupported = sorted({t for _, t in relocations if t != "R_RISCV_RELATIVE"})
    if defect == "reloc":
        if not unsupported:
            problems.append("no relocation other than R_RISCV_RELATIVE")
        else:
            notes.append("unsupported relocations: " + ", ".join(unsupported))
    elif unsupported:
        problems.append("relocations other than R_RISCV_RELATIVE: " + ", ".join(unsupported))
    if not want_pie and (relocations or elf.relr):
        problems.append(f"{len(relocations)} dynamic relocations in a non-PIE kernel")
    writable = [(s["vaddr"], s["vaddr"] + s["memsz"]) for s in loads if "W" in s["flags"]]
    text_relocs = [o for o, _ in relocations if not any(b <= o < e for b, e in writable)]
    if text_relocs:
        problems.append(f"{len(text_relocs)} relocations target non-writable memory, first at {text_relocs[0]:#x}")
    elif elf.textrel:
        notes.append("DT_TEXTREL set but no relocation targets read-only memory (GNU ld quirk)")

    config = elf.config()
    if defect == "no-config":
        if config is not None:
            problems.append(".loader_config present")
    elif config is None:
        problems.append("no .loader_config")
    elif len(config) != LOADER_CONFIG_SIZE:
        problems.append(f".loader_config is {len(config)} bytes, expected {LOADER_CONFIG_SIZE}")
    else:
        magic, major, _minor, size, stack = struct.unpack_from("<QHHIQ", config)
        if magic != LOADER_CONFIG_MAGIC or major != 1 or size != LOADER_CONFIG_SIZE:
            problems.append(f".loader_config header magic {magic:#x} major {major} size {size}")
        if defect == "huge-stack":
            if stack != HUGE_STACK:
                problems.append(f"stack_size {stack:#x}, expected {HUGE_STACK:#x}")
        elif stack == 0 or stack % PAGE or stack > (16 << 20):
            problems.append(f"stack_size {stack:#x} is not a sane page multiple")
        notes.append(f"config stack_size {stack // 1024} KiB")
    return problems, notes


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readelf", required=True)
    parser.add_argument("--higher-half", type=lambda v: int(v, 0), required=True)
    for kind in ("pie", "fixed", "bad-no-config", "bad-wx", "bad-reloc", "bad-huge-stack", "bad-huge-image"):
        parser.add_argument("--" + kind, action="append", default=[], metavar="FILE")
    args = parser.parse_args()

    failures = 0
    checked = 0
    for kind in ("pie", "fixed", "bad-no-config", "bad-wx", "bad-reloc", "bad-huge-stack", "bad-huge-image"):
        for path in getattr(args, kind.replace("-", "_")):
            problems, notes = check(Elf(args.readelf, path), kind, args.higher_half)
            checked += 1
            status = "FAIL" if problems else "ok"
            print(f"{status:4} {kind:15} {path}" + (f"  [{'; '.join(notes)}]" if notes else ""))
            for problem in problems:
                print(f"       {problem}")
            failures += bool(problems)
    if checked == 0:
        print("no kernels given")
        return 1
    print(f"{checked - failures} of {checked} kernels as expected")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
