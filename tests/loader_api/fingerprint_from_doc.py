#!/usr/bin/env python3
"""Recomputes the ABI fingerprint from docs/protocol.md alone.

An outside author writes a kernel from the spec, not from the C++ headers:
this script reads only the layout tables of section 3 (BootInfo, HartInfo,
MemoryRegion, KernelSegment) and follows section 5 "The fingerprint,
exactly" (encoding, the 1.0 prefix, which names are structures). The result
must equal the literal the doc states and kAbiFingerprint in boot_info.hpp;
if it does not, the doc's description is wrong or incomplete.

usage: fingerprint_from_doc.py PROTOCOL_MD BOOT_INFO_HPP
"""

import re
import sys

FNV_BASIS = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
MASK = (1 << 64) - 1
ROW = re.compile(r"^\| `([A-Za-z_][A-Za-z0-9_.]*)` \| (\d+) \| (\d+) \|")


def fail(message):
    print("fingerprint-from-doc: " + message, file=sys.stderr)
    sys.exit(1)


def section(text, heading):
    """The lines under `heading` up to the next heading of any level."""
    lines = text.splitlines()
    try:
        start = lines.index(heading)
    except ValueError:
        fail("no heading " + repr(heading))
    body = []
    for line in lines[start + 1:]:
        if line.startswith("#"):
            break
        body.append(line)
    return body


def table_rows(text, name):
    """(dotted name, offset, size) of every row of `### name`, in table order."""
    rows = [(m.group(1), int(m.group(2)), int(m.group(3)))
            for m in (ROW.match(line) for line in section(text, "### " + name)) if m]
    if not rows:
        fail("no layout rows under ### " + name)
    return rows


class Field:
    def __init__(self, name, offset):
        self.name = name
        self.offset = offset  # inside the enclosing structure
        self.size = 0
        self.children = []    # non-empty: the field is a structure

    def end(self):
        return self.offset + self.size


def build(rows):
    """Nests dotted rows (`header.magic`) into structures with relative offsets."""
    top = []
    for dotted, offset, size in rows:
        parts = dotted.split(".")
        level, base = top, 0
        for depth, part in enumerate(parts):
            leaf = depth == len(parts) - 1
            field = next((f for f in level if f.name == part), None)
            if field is None:
                field = Field(part, offset - base)
                level.append(field)
            if leaf:
                field.size = size
            else:
                base += field.offset
                level = field.children
    # Rule 3 of section 5: a structure's size is the end of its last field.
    def sizes(fields):
        for field in fields:
            if field.children:
                sizes(field.children)
                field.size = max(child.end() for child in field.children)
    sizes(top)
    return top


def hash_bytes(state, data):
    for byte in data:
        state = ((state ^ byte) * FNV_PRIME) & MASK
    return state


def contribute(state, fields, below=None):
    state = hash_bytes(state, b"{")
    for field in sorted(fields, key=lambda f: f.offset):
        if below is not None and field.offset >= below:
            continue
        state = hash_bytes(state, field.name.encode("ascii") + b"\0")
        state = hash_bytes(state, field.offset.to_bytes(8, "little"))
        state = hash_bytes(state, field.size.to_bytes(8, "little"))
        if field.children:
            state = contribute(state, field.children)
    return hash_bytes(state, b"}")


def main():
    if len(sys.argv) != 3:
        fail("usage: fingerprint_from_doc.py PROTOCOL_MD BOOT_INFO_HPP")
    doc = open(sys.argv[1], encoding="utf-8").read()
    header = open(sys.argv[2], encoding="utf-8").read()

    exact = "\n".join(section(doc, "### The fingerprint, exactly"))
    literal = re.search(r"`kAbiFingerprint` = \*\*`(0x[0-9a-f]+)`\*\*", exact)
    if not literal:
        fail("section 5 states no `kAbiFingerprint` = **`0x...`**")
    prefix = re.search(r"its fields at offsets below (\d+)", exact)
    if not prefix:
        fail("section 5 does not say where the 1.0 fixed part of BootInfo ends")
    in_code = re.search(r"kAbiFingerprint = (0x[0-9a-fA-F]+);", header)
    if not in_code:
        fail("no kAbiFingerprint in " + sys.argv[2])

    state = FNV_BASIS
    state = contribute(state, build(table_rows(doc, "BootInfo")), below=int(prefix.group(1)))
    for name in ("HartInfo", "MemoryRegion", "KernelSegment"):
        state = contribute(state, build(table_rows(doc, name)))

    computed = "0x%016x" % state
    print("from the tables of docs/protocol.md: " + computed)
    print("stated in docs/protocol.md:          " + literal.group(1))
    print("kAbiFingerprint in boot_info.hpp:    " + in_code.group(1).lower())
    if state != int(literal.group(1), 16):
        fail("the tables and section 5 give " + computed + ", the doc states " + literal.group(1))
    if state != int(in_code.group(1), 16):
        fail("the tables and section 5 give " + computed + ", boot_info.hpp has " + in_code.group(1))


if __name__ == "__main__":
    main()
