#!/usr/bin/env python3
"""Differential test: what elf_dump (the project's ELF reader) reports about a
riscv64 ELF file must match what binutils readelf says about it.

Checked: ELF type and entry, every program header, the PT_LOAD/PT_TLS/
PT_GNU_RELRO/PT_GNU_STACK views, the image extent, the section list, the
.loader_config bytes, relocation counts per dynamic table, and every
relocation the reader yields for a non-zero slide (value recomputed here from
readelf's addends and symbol values, RELR addends read from the file), or,
when the file has a relocation the reader does not support, the first such
relocation named as the error.
"""

import argparse
import re
import struct
import subprocess
import sys

SLIDE = 0x40000000

PT_TYPES = {
    'NULL': 0, 'LOAD': 1, 'DYNAMIC': 2, 'INTERP': 3, 'NOTE': 4, 'SHLIB': 5, 'PHDR': 6, 'TLS': 7,
    'GNU_EH_FRAME': 0x6474e550, 'GNU_STACK': 0x6474e551, 'GNU_RELRO': 0x6474e552,
    'GNU_PROPERTY': 0x6474e553, 'RISCV_ATTRIBUT': 0x70000003,
}
R_NONE, R_64, R_RELATIVE = 0, 2, 3

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
    return condition


def run(*command):
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def parse_dump(text):
    dump = {'phdr': [], 'load': [], 'section': [], 'reloc': [], 'table': {}}
    for line in text.splitlines():
        key, _, rest = line.partition(' ')
        fields = rest.split()
        if key in ('phdr', 'load', 'section', 'reloc'):
            dump[key].append(fields)
        elif key == 'table':
            dump['table'][fields[0]] = [int(v, 16) for v in fields[1:]]
        else:
            dump[key] = rest
    return dump


def readelf_program_headers(readelf, path):
    headers = []
    pattern = re.compile(r'^\s+(\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)'
                         r'\s+0x([0-9a-f]+)\s+([R ][W ][E ])\s+(?:0x)?([0-9a-f]+)$')
    for line in run(readelf, '-lW', path).splitlines():
        m = pattern.match(line)
        if not m:
            continue
        name = m.group(1)
        check(name in PT_TYPES, f'unknown segment type {name} in readelf output')
        flags = (4 if m.group(7)[0] == 'R' else 0) | (2 if m.group(7)[1] == 'W' else 0) | (1 if m.group(7)[2] == 'E' else 0)
        headers.append({'type': PT_TYPES.get(name, -1), 'offset': int(m.group(2), 16), 'vaddr': int(m.group(3), 16),
                        'filesz': int(m.group(5), 16), 'memsz': int(m.group(6), 16), 'flags': flags,
                        'align': int(m.group(8), 16)})
    return headers


def readelf_sections(readelf, path):
    sections = []
    for line in run(readelf, '-SW', path).splitlines():
        m = re.match(r'^\s*\[\s*(\d+)\]\s(.*)$', line)
        if not m:
            continue
        index, tokens = int(m.group(1)), m.group(2).split()
        if index == 0:
            tokens = [''] + tokens
        sections.append({'index': index, 'name': tokens[0], 'type': tokens[1], 'addr': int(tokens[2], 16),
                         'offset': int(tokens[3], 16), 'size': int(tokens[4], 16)})
    return sections


def readelf_relocations(readelf, path):
    """Returns ({section: (file offset, [entries])}, [RELR offsets])."""
    tables, relr, current = {}, [], None
    for line in run(readelf, '-rW', path).splitlines():
        m = re.match(r"^Relocation section '(.+)' at offset 0x([0-9a-f]+) contains (\d+) entr", line)
        if m:
            current = m.group(1)
            tables[current] = (int(m.group(2), 16), int(m.group(3)), [])
            continue
        if current is None:
            continue
        m = re.match(r'^([0-9a-f]{16})\s+([0-9a-f]{16})\s+(\S+)\s*(.*)$', line)
        if m:
            info = int(m.group(2), 16)
            entry = {'offset': int(m.group(1), 16), 'type': info & 0xffffffff, 'symbol': info >> 32,
                     'addend': 0, 'symbol_value': 0}
            rest = m.group(4).strip()
            sm = re.match(r'^([0-9a-f]+)\s+(.*?)\s*([+-])\s*([0-9a-f]+)$', rest)
            if sm:
                entry['symbol_value'] = int(sm.group(1), 16)
                entry['addend'] = int(sm.group(4), 16) * (1 if sm.group(3) == '+' else -1)
            elif re.match(r'^[0-9a-f]+$', rest):
                entry['addend'] = int(rest, 16)
            tables[current][2].append(entry)
            continue
        m = re.match(r'^([0-9a-f]{16})$', line)
        if m:  # a RELR offset, as decoded by readelf
            relr.append(int(m.group(1), 16))
    return tables, relr


def readelf_dynamic_symbols(readelf, path):
    symbols = {}
    pattern = re.compile(r'^\s*(\d+):\s+([0-9a-f]+)\s+\S+\s+\S+\s+\S+\s+\S+(?:\s+\[[^\]]*\])?\s+(UND|ABS|COM|\d+)\s*(\S*)')
    for line in run(readelf, '--dyn-syms', '-W', path).splitlines():
        m = pattern.match(line)
        if m:
            symbols[int(m.group(1))] = {'value': int(m.group(2), 16), 'ndx': m.group(3),
                                        'name': m.group(4).split('@')[0]}
    return symbols


def file_offset(headers, vaddr):
    for h in headers:
        if h['type'] == 1 and h['vaddr'] <= vaddr and vaddr + 8 <= h['vaddr'] + h['filesz']:
            return h['offset'] + vaddr - h['vaddr']
    return None


def expected_relocations(dump, tables, relr_offsets, symbols, headers, data):
    """The relocation lines and the error elf_dump should print."""
    ranges = []
    for name in ('rela', 'jmprel'):
        if name in dump['table']:
            _, offset, size = dump['table'][name]
            ranges.append(('DT_RELA' if name == 'rela' else 'DT_JMPREL', offset, size))
    in_rela_section = []
    for section, (offset, _, entries) in tables.items():
        if section.startswith('.relr'):
            continue
        for i, entry in enumerate(entries):
            position = offset + 24 * i
            for source, start, size in ranges:
                if start <= position < start + size:
                    in_rela_section.append((0 if source == 'DT_RELA' else 1, (position - start) // 24, source, entry))
                    break
            else:
                check(False, f'readelf relocation at file offset {position:#x} ({section}) is in no dynamic table')
    # A PLT table inside DT_RELA matched DT_RELA first above: it is walked once, as part of DT_RELA.
    ordered = sorted(in_rela_section, key=lambda e: (e[0], e[1]))
    lines = []
    for _, index, source, entry in ordered:
        kind = entry['type']
        if kind == R_NONE:
            continue
        if kind == R_RELATIVE:
            value = SLIDE + entry['addend']
        elif kind == R_64:
            if entry['symbol'] == 0:
                value = entry['addend']
            else:
                symbol = symbols.get(entry['symbol'])
                if not check(symbol is not None, f'no dynamic symbol {entry["symbol"]}'):
                    return lines, None
                if symbol['ndx'] == 'UND':
                    return lines, ['undefined', source, str(index), symbol['name']]
                value = symbol['value'] + entry['addend'] + (0 if symbol['ndx'] == 'ABS' else SLIDE)
        else:
            return lines, ['unsupported', source, str(index), str(kind)]
        lines.append([source, str(index), str(kind), f'{entry["offset"]:#x}', f'{value & (2**64 - 1):#x}'])
    for target in relr_offsets:
        at = file_offset(headers, target)
        if not check(at is not None, f'RELR target {target:#x} is not file-backed'):
            continue
        addend = struct.unpack_from('<Q', data, at)[0]
        lines.append(['DT_RELR', None, '3', f'{target:#x}', f'{(SLIDE + addend) & (2**64 - 1):#x}'])
    return lines, None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--dump', required=True)
    parser.add_argument('--readelf', required=True)
    parser.add_argument('file')
    args = parser.parse_args()
    with open(args.file, 'rb') as f:
        data = f.read()

    dump = parse_dump(run(args.dump, args.file, hex(SLIDE)))
    if 'parse-error' in dump:
        print(f'{args.file}: reader rejected the file: {dump["parse-error"]}')
        return 1

    header = run(args.readelf, '-hW', args.file)
    entry = int(re.search(r'Entry point address:\s+0x([0-9a-f]+)', header).group(1), 16)
    kind = re.search(r'Type:\s+(\S+)', header).group(1)
    check(int(dump['type']) == {'EXEC': 2, 'DYN': 3}.get(kind), f'type {dump["type"]} vs readelf {kind}')
    check(int(dump['entry'], 16) == entry, f'entry {dump["entry"]} vs readelf {entry:#x}')

    headers = readelf_program_headers(args.readelf, args.file)
    check(len(headers) == len(dump['phdr']), f'{len(dump["phdr"])} program headers vs readelf {len(headers)}')
    for ours, theirs in zip(dump['phdr'], headers):
        got = [int(v, 16) for v in ours[1:]]
        want = [theirs['type'], theirs['offset'], theirs['vaddr'], theirs['filesz'], theirs['memsz'], theirs['flags'],
                theirs['align']]
        check(got == want, f'program header {ours[0]}: {[hex(v) for v in got]} vs readelf {[hex(v) for v in want]}')

    loads = [(i, h) for i, h in enumerate(headers) if h['type'] == 1]
    check(len(loads) == len(dump['load']), f'{len(dump["load"])} PT_LOAD vs readelf {len(loads)}')
    for ours, (i, h) in zip(dump['load'], loads):
        flags = ('R' if h['flags'] & 4 else '-') + ('W' if h['flags'] & 2 else '-') + ('X' if h['flags'] & 1 else '-')
        want = [str(i), hex(h['vaddr']), hex(h['memsz']), hex(h['filesz']), flags,
                'wx=' + ('1' if h['flags'] & 3 == 3 else '0')]
        check(ours == want, f'load segment {ours} vs readelf {want}')
    nonempty = [h for _, h in loads if h['memsz'] > 0]
    want_image = f'{min(h["vaddr"] for h in nonempty):#x} {max(h["vaddr"] + h["memsz"] for h in nonempty):#x}'
    check(dump.get('image') == want_image, f'image {dump.get("image")} vs {want_image}')
    check(('wx-error' in dump) == any(h['flags'] & 3 == 3 for _, h in loads), 'W+X verdict differs')

    def single(pt):
        found = [(i, h) for i, h in enumerate(headers) if h['type'] == pt]
        return found[0] if found else (None, None)

    i, tls = single(7)
    want = None if tls is None else \
        f'{i} {tls["vaddr"]:#x} {tls["filesz"]:#x} {tls["memsz"]:#x} {max(tls["align"], 1):#x}'
    check(dump.get('tls') == want, f'tls {dump.get("tls")} vs readelf {want}')
    i, relro = single(0x6474e552)
    want = None if relro is None else f'{i} {relro["vaddr"]:#x} {relro["vaddr"] + relro["memsz"]:#x}'
    check(dump.get('relro') == want, f'relro {dump.get("relro")} vs readelf {want}')
    _, stack = single(0x6474e551)
    want = None if stack is None else f'{stack["flags"]:#x}'
    check(dump.get('stack') == want, f'stack {dump.get("stack")} vs readelf {want}')

    sections = readelf_sections(args.readelf, args.file)
    check(len(sections) == len(dump['section']), f'{len(dump["section"])} sections vs readelf {len(sections)}')
    for ours, s in zip(dump['section'], sections):
        want = [str(s['index']), s['name'] or '-', hex(s['addr']), hex(s['offset']), hex(s['size'])]
        check(ours == want, f'section {ours} vs readelf {want}')
    config = [s for s in sections if s['name'] == '.loader_config']
    if config:
        c = config[0]
        want = f'{c["addr"]:#x} ' + ' '.join(f'{b:02x}' for b in data[c['offset']:c['offset'] + c['size']])
        check(dump.get('loader_config') == want, f'.loader_config {dump.get("loader_config")} vs {want}')
    else:
        check('no-loader_config' in dump, 'reader found a .loader_config that readelf does not list')

    dynamic = run(args.readelf, '-dW', args.file)

    def tag(name):
        m = re.search(r'\(' + name + r'\)\s+(0x[0-9a-f]+|\d+)', dynamic)
        return None if m is None else int(m.group(1), 0)

    tables, relr_offsets = readelf_relocations(args.readelf, args.file)
    counts = [int(v) for v in dump['counts'].split()]
    want_rela = (tag('RELASZ') or 0) // 24
    want_plt = (tag('PLTRELSZ') or 0) // 24
    check(counts[0] == want_rela, f'DT_RELA count {counts[0]} vs readelf DT_RELASZ/24 = {want_rela}')
    check(counts[1] == want_plt, f'DT_JMPREL count {counts[1]} vs readelf DT_PLTRELSZ/24 = {want_plt}')
    in_sections = sum(n for name, (_, n, _) in tables.items() if not name.startswith('.relr'))
    check(counts[0] + (0 if counts[2] else counts[1]) == in_sections,
          f'relocation counts {counts[:3]} vs readelf sections total {in_sections}')
    relr_entries = sum(n for name, (_, n, _) in tables.items() if name.startswith('.relr'))
    check(counts[3] == relr_entries, f'RELR entries {counts[3]} vs readelf {relr_entries}')
    check(counts[4] == len(relr_offsets), f'RELR relative count {counts[4]} vs readelf {len(relr_offsets)}')
    if 'rela' in dump['table']:
        check(dump['table']['rela'][0] == tag('RELA'), 'DT_RELA address differs')

    symbols = readelf_dynamic_symbols(args.readelf, args.file)
    want_lines, want_error = expected_relocations(dump, tables, relr_offsets, symbols, headers, data)
    got_lines = [line for line in dump['reloc']]
    got_error = dump.get('reloc-error', None)
    got_error = got_error.split() if got_error else None
    check(got_error == want_error, f'relocation error {got_error} vs expected {want_error}')
    if want_error is None:
        # RELR indices are the entry that produced the relocation: readelf does not say, so they are not compared.
        normalise = lambda lines: [[f for j, f in enumerate(l) if not (l[0] == 'DT_RELR' and j == 1)] for l in lines]
        got, want = normalise(got_lines), normalise(want_lines)
        check(len(got) == len(want), f'{len(got)} relocations vs expected {len(want)}')
        for g, w in zip(got, want):
            if not check(g == w, f'relocation {g} vs expected {w}'):
                break
    else:
        check(got_lines == want_lines[:len(got_lines)] and len(got_lines) == len(want_lines),
              f'{len(got_lines)} relocations before the error vs expected {len(want_lines)}')

    summary = (f'{args.file}: {len(headers)} program headers, {len(sections)} sections, '
               f'{len(want_lines)} relocations compared, error {want_error}')
    if failures:
        for message in failures[:30]:
            print('FAIL', message)
        print(summary)
        return 1
    print('ok', summary)
    return 0


if __name__ == '__main__':
    sys.exit(main())
