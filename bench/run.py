#!/usr/bin/env python3
"""Benchmark runner (issue 7): builds what it needs, measures, prints one table.

usage: bench/run.py BUILD_DIR [--only SECTION,...] [--require-all] [--markdown FILE]

BUILD_DIR is a configured cross build (build/gcc from ./dev.sh bench): the
host benchmarks, the OpenSBI probe and the loader that boots come from it.
Loader sizes and compile costs need both compilers at -O2 and -Os; those
build directories are configured under build/bench-{gcc,clang}-{O2,Os}.

Every figure is a row: name, value, unit, how it was measured. A figure that
cannot be measured is a row "not measurable: <reason>", and the exit status
is 1. Figures that wait for the planner and for the loader booting real
kernels are "pending" rows: they make the run fail only with --require-all
(the default once the loader is integrated; see docs/performance.md).

Sections: pagetable, size, compile, boot, pending.
"""

import argparse
import glob
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "boot"))
import qemu_boot  # noqa: E402  (the boot tests' QEMU runner, reused as is)

SECTIONS = ["pagetable", "size", "compile", "boot", "pending"]


class NotMeasurable(Exception):
    """A figure (or a whole section) cannot be measured; the text says why."""


class Table:
    def __init__(self):
        self.rows = []  # (name, value, unit, how, status) with status ok | missing | pending

    def add(self, name, value, unit, how):
        self.rows.append((name, value, unit, how, "ok"))

    def missing(self, name, reason, pending=False):
        self.rows.append((name, None, "", reason, "pending" if pending else "missing"))

    def failed(self, require_all):
        return any(status == "missing" or (status == "pending" and require_all)
                   for _, _, _, _, status in self.rows)

    @staticmethod
    def format_value(value):
        if isinstance(value, float):
            return f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    def lines(self, markdown=False):
        cells = []
        for name, value, unit, how, status in self.rows:
            if status == "ok":
                cells.append((name, self.format_value(value), unit, how))
            else:
                word = "pending" if status == "pending" else "NOT MEASURABLE"
                cells.append((name, word, "", how))
        header = ("figure", "value", "unit", "how measured")
        if markdown:
            out = ["| " + " | ".join(header) + " |", "|---|---:|---|---|"]
            out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells]
            return out
        widths = [max(len(row[i]) for row in cells + [header]) for i in range(3)]
        out = []
        for row in [header] + cells:
            out.append(f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}")
        return out


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def run(command, cwd=None, timeout=600, check=True):
    result = subprocess.run(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, timeout=timeout)
    output = result.stdout.decode("utf-8", errors="replace")
    if check and result.returncode != 0:
        tail = "\n".join(output.splitlines()[-15:])
        raise NotMeasurable(f"`{' '.join(command)}` failed with status {result.returncode}: {tail}")
    return output


def build(build_dir, outputs):
    """Builds just these outputs (paths relative to the build dir), one job:
    the machine is shared and other targets may be half-written."""
    run(["ninja", "-C", build_dir, "-j1"] + outputs, timeout=900)
    for output in outputs:
        if not os.path.exists(os.path.join(build_dir, output)):
            raise NotMeasurable(f"{output} was not built in {build_dir}")


def configure(name, compiler, optimization):
    """An extra build directory build/bench-<compiler>-<O2|Os> for the
    target-side figures; configured once, reused afterwards."""
    build_dir = os.path.join(ROOT, "build", name)
    if not os.path.exists(os.path.join(build_dir, "build.ninja")):
        log(f"configuring {build_dir}")
        run(["meson", "setup", build_dir,
             "--cross-file", os.path.join(ROOT, "cross", f"riscv64-{compiler}.ini"),
             "--native-file", os.path.join(ROOT, "cross", f"native-{compiler}.ini"),
             f"-Doptimization={optimization}", "-Ddebug=false"], cwd=ROOT)
    return build_dir


def extra_build_dirs():
    return {(compiler, level): configure(f"bench-{compiler}-O{level}", compiler, level)
            for compiler in ("gcc", "clang") for level in ("2", "s")}


# ---------------------------------------------------------------------------
# Host page-table builder (figure 4)

PT_WORKLOADS = {
    "physmap": "16 GiB at the upper half, pa 0x80000000",
    "scattered": "100k random pages in 1 GiB",
    "kernel": "2M RX + 512K R + 1.5M RW, pa 2M+4K",
}
PT_MODES = ["sv39", "sv48"]


def callgrind(executable, args):
    """Instructions (Ir) counted between the program's client requests."""
    with tempfile.TemporaryDirectory(prefix="bench-callgrind-") as scratch:
        out_file = os.path.join(scratch, "callgrind.out")
        output = run(["valgrind", "--tool=callgrind", "--instr-atstart=no", "--collect-atstart=no",
                      f"--callgrind-out-file={out_file}", executable] + args)
        with open(out_file) as handle:
            text = handle.read()
    # "summary:" is written first and stays 0 when collection starts off.
    match = re.search(r"^totals:\s+(\d+)", text, re.MULTILINE)
    if not match:
        raise NotMeasurable(f"no totals in the callgrind output of {' '.join(args)}")
    fields = {}
    for line in output.splitlines():
        if line.startswith("workload="):
            fields = dict(item.split("=", 1) for item in line.split())
    if not fields:
        raise NotMeasurable(f"page_table_bench {' '.join(args)} printed no result line")
    return int(match.group(1)), fields


def section_pagetable(table, build_dir):
    executable = os.path.join(build_dir, "bench", "page_table_bench")
    build(build_dir, ["bench/page_table_bench"])
    for workload, description in PT_WORKLOADS.items():
        for mode in PT_MODES:
            totals = {}
            for builder in ("kmem", "naive"):
                name = f"pt.{workload}.{mode}.{builder}"
                try:
                    instructions, fields = callgrind(executable, [workload, builder, mode])
                except NotMeasurable as error:
                    table.missing(name + ".ir_per_leaf", str(error))
                    continue
                leaves = int(fields["leaves"])
                totals[builder] = instructions
                table.add(name + ".ir_per_leaf", instructions / leaves, "instr/leaf",
                          f"callgrind Ir of create()+map() / leaves: {instructions:,} instr; {description}")
                table.add(name + ".leaves", leaves, "leaves", "leaf PTEs written")
                table.add(name + ".table_frames", int(fields["table_frames"]), "frames",
                          f"= kmem::minimum_table_frames {int(fields['minimum_frames']):,} (checked)")
            if len(totals) == 2:
                table.add(f"pt.{workload}.{mode}.naive_over_kmem", totals["naive"] / totals["kmem"], "x",
                          "whole build's instructions, naive / kmem")


# ---------------------------------------------------------------------------
# Loader image size (figure 3, part)

def section_size(table, dirs):
    loader = "examples/reference_loader/loader.elf"
    for (compiler, level), build_dir in dirs.items():
        name = f"size.{compiler}.O{level}"
        try:
            build(build_dir, [loader])
            output = run(["riscv64-linux-gnu-size", "-A", os.path.join(build_dir, loader)])
        except NotMeasurable as error:
            table.missing(name, str(error))
            continue
        sections = {}
        for line in output.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
                sections[parts[0]] = int(parts[1])
        text = sum(v for k, v in sections.items() if k.startswith(".text"))
        rodata = sum(v for k, v in sections.items() if k.startswith((".rodata", ".srodata")))
        data = sum(v for k, v in sections.items() if k.startswith((".data", ".sdata", ".bss", ".sbss")))
        counted = {k for k in sections if k.startswith((".text", ".rodata", ".srodata", ".data", ".sdata",
                                                        ".bss", ".sbss"))}
        others = {k: v for k, v in sections.items()
                  if k not in counted and not k.startswith((".riscv", ".comment", ".debug", ".symtab",
                                                            ".strtab", ".shstrtab"))}
        rest = ", ".join(f"{k} {v}" for k, v in sorted(others.items()))
        how = f"riscv64-linux-gnu-size -A loader.elf, -O{level}" + (f"; not counted: {rest}" if rest else "")
        table.add(name + ".text", text, "bytes", how)
        table.add(name + ".rodata", rodata, "bytes", how)
        table.add(name + ".data+bss", data, "bytes", how)


# ---------------------------------------------------------------------------
# Compile cost (figure 6)

def compile_flags(build_dir):
    """The command that compiles the loader's main.cpp in this build dir,
    without its source, output and dependency-file arguments."""
    with open(os.path.join(build_dir, "compile_commands.json")) as handle:
        commands = json.load(handle)
    for entry in commands:
        if entry["file"].endswith("examples/reference_loader/main.cpp"):
            words = shlex.split(entry["command"])
            break
    else:
        raise NotMeasurable(f"no command for examples/reference_loader/main.cpp in {build_dir}")
    kept, skip = [], False
    for word in words:
        if skip:
            skip = False
            continue
        if word in ("-o", "-c", "-MQ", "-MF", "-MT"):
            skip = True
            continue
        if word in ("-MD", "-MMD") or word.endswith("main.cpp"):
            continue
        kept.append(word)
    return entry["directory"], kept


def measure_compile(directory, flags, source, runs=3):
    """Best of `runs`: least CPU time (user+sys) and least peak RSS."""
    best_time, best_rss = None, None
    with tempfile.TemporaryDirectory(prefix="bench-compile-") as scratch:
        for _ in range(runs):
            command = flags + ["-c", source, "-o", os.path.join(scratch, "tu.o")]
            process = subprocess.Popen(command, cwd=directory, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            output = process.stdout.read()
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
            if process.returncode != 0:
                raise NotMeasurable(f"compiling {os.path.basename(source)} failed: "
                                    + output.decode(errors="replace").strip().splitlines()[-1][:200])
            cpu = usage.ru_utime + usage.ru_stime
            rss = usage.ru_maxrss / 1024.0  # KiB on Linux
            best_time = cpu if best_time is None else min(best_time, cpu)
            best_rss = rss if best_rss is None else min(best_rss, rss)
    return best_time, best_rss


def public_headers():
    headers = sorted(glob.glob(os.path.join(ROOT, "include", "kmem", "*.hpp")))
    headers += sorted(glob.glob(os.path.join(ROOT, "include", "loader_api", "*.hpp")))
    return [os.path.relpath(h, os.path.join(ROOT, "include")) for h in headers]


def section_compile(table, dirs):
    headers = public_headers()
    with tempfile.TemporaryDirectory(prefix="bench-tu-") as scratch:
        sources = {}
        # A kernel TU: the header and a function, so the object is not empty.
        for label, includes in [("cstdint", ["<cstdint>"])] + [(h, [f'"{h}"']) for h in headers] + \
                [("all", [f'"{h}"' for h in headers])]:
            path = os.path.join(scratch, re.sub(r"[^A-Za-z0-9]", "_", label) + ".cpp")
            with open(path, "w") as handle:
                for include in includes:
                    handle.write(f"#include {include}\n")
                handle.write("extern \"C\" unsigned long kernel_tu_marker() { return 1; }\n")
            sources[label] = path
        for compiler in ("gcc", "clang"):
            build_dir = dirs[(compiler, "2")]
            try:
                directory, flags = compile_flags(build_dir)
                base_time, base_rss = measure_compile(directory, flags, sources["cstdint"])
            except NotMeasurable as error:
                table.missing(f"compile.{compiler}", str(error))
                continue
            how = f"riscv64 {compiler} -O2 with the loader's flags, best of 3, CPU time (os.wait4)"
            table.add(f"compile.{compiler}.<cstdint>.time", base_time, "s", how)
            table.add(f"compile.{compiler}.<cstdint>.peak", base_rss, "MiB", "peak RSS (ru_maxrss), best of 3")
            for label in headers + ["all"]:
                name = f"compile.{compiler}.{label}"
                try:
                    cpu, rss = measure_compile(directory, flags, sources[label])
                except NotMeasurable as error:
                    table.missing(name, str(error))
                    continue
                what = "every public header in one TU" if label == "all" else "TU including only this header"
                table.add(name + ".time", cpu, "s", f"{what}; +{cpu - base_time:.2f} s over <cstdint>")
                table.add(name + ".peak", rss, "MiB", f"+{rss - base_rss:.0f} MiB over <cstdint>")


# ---------------------------------------------------------------------------
# Boot cost (figures 1-2)

SMP = [1, 4, 8]
MEMORY = [("128M", 0.125), ("2G", 2.0), ("16G", 16.0)]
QEMU = "qemu-system-riscv64"


def boot(image, smp, memory, timeout, expect):
    args = qemu_boot.parse_args(["--qemu", QEMU, "--image", image, "--timeout", str(timeout),
                                 "--expect", expect, "--", "-smp", str(smp), "-m", memory,
                                 "-icount", "shift=0"])
    _, returncode, timed_out, elapsed, console = qemu_boot.run(args)
    problems = qemu_boot.judge(args, returncode, timed_out, console)
    if problems:
        raise NotMeasurable(f"-smp {smp} -m {memory}: " + "; ".join(problems))
    return console, elapsed


def least_squares(rows):
    """Solves value = a + b*GiB + c*harts in the least-squares sense."""
    matrix = [[0.0] * 3 for _ in range(3)]
    vector = [0.0] * 3
    for gib, harts, value in rows:
        x = (1.0, gib, float(harts))
        for i in range(3):
            vector[i] += x[i] * value
            for j in range(3):
                matrix[i][j] += x[i] * x[j]
    for column in range(3):  # Gaussian elimination with partial pivoting
        pivot = max(range(column, 3), key=lambda r: abs(matrix[r][column]))
        matrix[column], matrix[pivot] = matrix[pivot], matrix[column]
        vector[column], vector[pivot] = vector[pivot], vector[column]
        for row in range(column + 1, 3):
            factor = matrix[row][column] / matrix[column][column]
            for k in range(column, 3):
                matrix[row][k] -= factor * matrix[column][k]
            vector[row] -= factor * vector[column]
    solution = [0.0] * 3
    for row in (2, 1, 0):
        solution[row] = (vector[row] - sum(matrix[row][k] * solution[k] for k in range(row + 1, 3))) \
            / matrix[row][row]
    return solution


def section_boot(table, build_dir):
    loader = "examples/reference_loader/loader.elf"
    probe = "bench/opensbi_probe.elf"
    build(build_dir, [loader, probe])
    loader_line = re.compile(r"^loader: boot: \d+ us, (\d+) instret from loader entry to handoff$", re.M)
    probe_line = re.compile(r"^probe: entry instret (\d+)$", re.M)
    how_loader = ("-icount shift=0, loader's instret line (entry to handoff; self-test kernel until the "
                  "loader boots real kernels)")
    how_sbi = "-icount shift=0, bench/opensbi_probe.elf reads instret at its first instruction"
    samples = []
    for smp in SMP:
        for memory, gib in MEMORY:
            name = f"boot.smp{smp}.m{memory}"
            try:
                console, _ = boot(os.path.join(build_dir, probe), smp, memory, 60, probe_line.pattern)
                opensbi = int(probe_line.search(console).group(1))
                console, _ = boot(os.path.join(build_dir, loader), smp, memory, 180, loader_line.pattern)
                loader_instructions = int(loader_line.search(console).group(1))
            except (NotMeasurable, subprocess.SubprocessError) as error:
                table.missing(name, str(error))
                continue
            table.add(name + ".loader", loader_instructions, "instr", how_loader)
            table.add(name + ".opensbi", opensbi, "instr", how_sbi)
            table.add(name + ".ratio", loader_instructions / opensbi, "loader/OpenSBI", "the two rows above")
            samples.append((gib, smp, loader_instructions))
    if len(samples) < 4:
        table.missing("boot.fit", "fewer than 4 points of the -smp x -m matrix booted")
        return
    intercept, per_gib, per_hart = least_squares(samples)
    table.add("boot.fit.per_gib", per_gib, "instr/GiB", "least squares over the -smp x -m matrix")
    table.add("boot.fit.per_hart", per_hart, "instr/hart", "least squares over the -smp x -m matrix")
    table.add("boot.fit.intercept", intercept, "instr", "least squares: 0 GiB, 0 harts")


# ---------------------------------------------------------------------------
# Figures that wait for the planner and for real kernels

def section_pending(table):
    waiting = "the loader boots only its self-test: needs the planner (include/loader_api/plan.hpp) and kernels"
    for name, reason in [
        ("boot.kaslr_on_off", waiting + " (KASLR axis)"),
        ("boot.paging_mode", waiting + " (Sv39/Sv48/Sv57 axis: loader.paging= with a real kernel)"),
        ("boot.kernel_entry", waiting + " (instret at the kernel's first instruction)"),
        ("memory.plan_table_frames", "needs the planner's page-table frame count and kmem::minimum_table_frames"),
        ("memory.permanent_kib", "needs the loader's handoff report of memory it leaves reserved"),
        ("planner.ir_4hart_2g", "needs the planner: a bench executable planning a 4-hart 2 GiB machine"),
        ("planner.machines_per_s", "needs the planner and its random machine generator (plan/random.hpp)"),
    ]:
        table.missing(name, "not measurable yet: " + reason, pending=True)


# ---------------------------------------------------------------------------

def machine_description():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    def version(command):
        try:
            return run(command, check=False).splitlines()[0].strip()
        except (OSError, IndexError):
            return "not found"

    return [
        f"CPU: {cpu}, {os.cpu_count()} logical CPUs; {platform.system()} {platform.release()}",
        f"QEMU: {version([QEMU, '--version'])}",
        f"host compilers: {version(['g++', '--version'])}; {version(['clang++-19', '--version'])}",
        f"cross compilers: {version(['riscv64-linux-gnu-g++', '--version'])}; clang++-19 --target=riscv64-linux-gnu",
        f"valgrind: {version(['valgrind', '--version'])}",
    ]


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("build_dir")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--require-all", action="store_true",
                        help="pending figures (planner, real kernels) make the run fail too")
    parser.add_argument("--markdown", metavar="FILE", help="also write the table as markdown")
    args = parser.parse_args(argv)
    build_dir = os.path.abspath(args.build_dir)
    sections = [s for s in args.only.split(",") if s]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown sections {unknown}; known: {SECTIONS}")

    started = time.monotonic()
    table = Table()
    dirs = None
    for section in sections:
        log(f"{section} ({time.monotonic() - started:.0f} s)")
        try:
            if section in ("size", "compile") and dirs is None:
                dirs = extra_build_dirs()
            if section == "pagetable":
                section_pagetable(table, build_dir)
            elif section == "size":
                section_size(table, dirs)
            elif section == "compile":
                section_compile(table, dirs)
            elif section == "boot":
                section_boot(table, build_dir)
            elif section == "pending":
                section_pending(table)
        except (NotMeasurable, OSError, subprocess.SubprocessError) as error:
            table.missing(section, str(error))
    elapsed = time.monotonic() - started

    lines = table.lines()
    print("\n".join(lines))
    print(f"\n({elapsed:.0f} s)")
    if args.markdown:
        with open(args.markdown, "w") as handle:
            handle.write("\n".join("- " + line for line in machine_description()) + "\n\n")
            handle.write("\n".join(table.lines(markdown=True)) + "\n")
            handle.write(f"\nrun took {elapsed:.0f} s\n")
    if table.failed(args.require_all):
        bad = [r[0] for r in table.rows if r[4] == "missing" or (r[4] == "pending" and args.require_all)]
        log(f"{len(bad)} figure(s) could not be measured: {', '.join(bad)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
