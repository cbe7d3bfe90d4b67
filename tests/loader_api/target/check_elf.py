#!/usr/bin/env python3
"""check_elf.py READELF OBJCOPY OBJDUMP KERNEL_ELF

On a kernel built from config_kernel.cpp (with or without -flto and
--gc-sections):
  1. `.loader_config` is present; its bytes, cut out with objcopy (not with
     our ELF reader), decode to the config config_kernel.cpp declared;
  2. the ELF entry is `_start`, the symbol LOADER_API_KERNEL defines;
  3. the RISC-V TLS rule docs/protocol.md states: code reaches a TLS
     variable at tp + (its offset in the PT_TLS segment), i.e. tp points at
     the start of the block with no TCB in front (variant I, TCB size 0)."""
import re
import struct
import subprocess
import sys
import tempfile

readelf, objcopy, objdump, kernel = sys.argv[1:5]
failures = []


def run(*command):
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


# 1. The config, as config_kernel.cpp wrote it (values repeated here).
with tempfile.NamedTemporaryFile(suffix=".bin") as out:
    run(objcopy, "-O", "binary", "--only-section=.loader_config", kernel, out.name)
    data = open(out.name, "rb").read()
if len(data) != 56:
    failures.append(f".loader_config is {len(data)} bytes, expected 56 (one LoaderConfig)")
else:
    fields = struct.unpack("<QHHIQIIIIIIII", data)
    names = ["magic", "version_major", "version_minor", "size", "stack_size", "min_paging_mode",
             "max_paging_mode", "preferred_paging_mode", "kaslr", "start_harts", "max_harts",
             "allow_write_execute", "log_level"]
    expected = [int.from_bytes(b"LDRCONFG", "little"), 1, 0, 56, 256 * 1024, 9, 10, 10, 2, 2, 3, 0, 4]
    for name, got, wanted in zip(names, fields, expected):
        if got != wanted:
            failures.append(f"config.{name} = {got:#x}, expected {wanted:#x}")

# 2. Entry point.
header = run(readelf, "-hW", kernel)
entry = int(re.search(r"Entry point address:\s+(0x[0-9a-f]+)", header).group(1), 16)
symbols = {}
for line in run(readelf, "-sW", kernel).splitlines():
    parts = line.split()
    if len(parts) >= 8 and parts[0][:-1].isdigit():
        symbols[parts[7]] = (int(parts[1], 16), parts[3])
if symbols.get("_start", (None,))[0] != entry:
    failures.append(f"entry {entry:#x} is not _start ({symbols.get('_start')})")

# 3. TLS: offsets used with tp against the symbols' offsets in PT_TLS.
segments = run(readelf, "-lW", kernel)
tls = re.search(r"^\s*TLS\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+\s+(0x[0-9a-f]+)", segments, re.M)
if tls is None:
    failures.append("no PT_TLS segment")
else:
    if int(tls.group(6), 16) < 32:
        failures.append(f"PT_TLS alignment {tls.group(6)}, expected at least 32 (alignas(32) variable)")
    disassembly = run(objdump, "-d", "--no-show-raw-insn", kernel)
    offsets = set()
    from_tp = set()  # registers holding tp (+ a zero %tprel_hi part)
    for line in disassembly.splitlines():
        match = re.search(r"\t(\w+)\s+(\S+)", line)
        if not match:
            from_tp.clear()
            continue
        op, operands = match.groups()
        parts = operands.split(",")
        if op == "mv" and parts[1] == "tp" or op == "add" and "tp" in parts[1:]:
            from_tp.add(parts[0])
            continue
        for offset, base in re.findall(r"(-?\d+)\((\w+)\)", operands):
            if base == "tp" or base in from_tp:
                offsets.add(int(offset))
    for name in ["tls_first", "tls_second"]:
        value, kind = symbols.get(name, (None, None))
        if kind != "TLS":
            failures.append(f"{name}: no TLS symbol")
        elif value not in offsets:
            failures.append(f"{name} lies at offset {value} of PT_TLS but is not accessed at tp+{value} "
                            f"(offsets used with tp: {sorted(offsets)})")

for failure in failures:
    print(failure)
print("ok" if not failures else f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
