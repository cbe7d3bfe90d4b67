#!/usr/bin/env python3
"""Benchmark runner (issue 7): builds what it needs, measures, prints one table.

usage: bench/run.py BUILD_DIR [--only SECTION,...] [--markdown FILE] [--extra-prefix NAME]

BUILD_DIR is a configured cross build (build/gcc from ./dev.sh bench): the
host benchmarks, the loader images that boot and the kernels come from it.
Loader sizes and compile costs need both compilers at -O2 and -Os; those
build directories are configured under build/<NAME>-{gcc,clang}-{O2,Os}
(NAME: --extra-prefix, default "bench").

Every figure is a row: name, value, unit, how it was measured. A figure that
cannot be measured is a row "NOT MEASURABLE: <reason>", and the exit status
is 1. A summary of the -smp 4 -m 2G machine (the figures issue 7 asks for
first) is printed before the table and heads the markdown file.

Sections: pagetable, size, compile, boot, memory, planner.
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

SECTIONS = ["pagetable", "size", "compile", "boot", "memory", "planner"]


class NotMeasurable(Exception):
    """A figure (or a whole section) cannot be measured; the text says why."""


class Table:
    def __init__(self):
        self.rows = []  # (name, value, unit, how, measured)

    def add(self, name, value, unit, how):
        self.rows.append((name, value, unit, how, True))

    def missing(self, name, reason):
        self.rows.append((name, None, "", reason, False))

    def failed(self):
        return [name for name, _, _, _, measured in self.rows if not measured]

    def get(self, name):
        for row in self.rows:
            if row[0] == name and row[4]:
                return row[1]
        return None

    @staticmethod
    def format_value(value):
        if isinstance(value, float):
            return f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    def lines(self, markdown=False):
        cells = []
        for name, value, unit, how, measured in self.rows:
            cells.append((name, self.format_value(value) if measured else "NOT MEASURABLE", unit, how))
        return format_table(("figure", "value", "unit", "how measured"), cells, markdown)


def format_table(header, cells, markdown):
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells]
        return out
    widths = [max(len(row[i]) for row in list(cells) + [header]) for i in range(len(header) - 1)]
    out = []
    for row in [header] + list(cells):
        out.append("  ".join(f"{row[i]:<{widths[i]}}" for i in range(len(header) - 1)) + "  " + row[-1])
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
    """An extra build directory build/<prefix>-<compiler>-<O2|Os> for the
    target-side figures; configured once, reused afterwards."""
    build_dir = os.path.join(ROOT, "build", name)
    if not os.path.exists(os.path.join(build_dir, "build.ninja")):
        log(f"configuring {build_dir}")
        run(["meson", "setup", build_dir,
             "--cross-file", os.path.join(ROOT, "cross", f"riscv64-{compiler}.ini"),
             "--native-file", os.path.join(ROOT, "cross", f"native-{compiler}.ini"),
             f"-Doptimization={optimization}", "-Ddebug=false"], cwd=ROOT)
    return build_dir


def extra_build_dirs(prefix):
    return {(compiler, level): configure(f"{prefix}-{compiler}-O{level}", compiler, level)
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

# Issue 13: .text + .rodata + .data of the loader a distribution ships
# (loader-none: U-Boot and UEFI doors included, no kernel inside).
SIZE_TARGETS = {"2": 96 * 1024, "s": 64 * 1024}


def section_size(table, dirs):
    loader = f"{LOADER_DIR}/loader-none.elf"
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
        data = sum(v for k, v in sections.items() if k.startswith((".data", ".sdata")))
        bss = sum(v for k, v in sections.items() if k.startswith((".bss", ".sbss")))
        counted = {k for k in sections if k.startswith((".text", ".rodata", ".srodata", ".data", ".sdata",
                                                        ".bss", ".sbss"))}
        others = {k: v for k, v in sections.items()
                  if k not in counted and not k.startswith((".riscv", ".comment", ".debug", ".symtab",
                                                            ".strtab", ".shstrtab"))}
        rest = ", ".join(f"{k} {v}" for k, v in sorted(others.items()))
        how = f"riscv64-linux-gnu-size -A loader-none.elf, -O{level}" + (f"; not counted: {rest}" if rest else "")
        table.add(name + ".text", text, "bytes", how)
        table.add(name + ".rodata", rodata, "bytes", how)
        table.add(name + ".data", data, "bytes", how)
        table.add(name + ".bss", bss, "bytes", how)
        target = SIZE_TARGETS[level]
        table.add(name + ".total", text + rodata + data, "bytes",
                  f".text + .rodata + .data; issue 13 target <= {target:,} ({target // 1024} KiB): "
                  + ("met" if text + rodata + data <= target else "NOT met"))
        bare = f"{LOADER_DIR}/loader-none.bin"
        try:
            build(build_dir, [bare])
        except NotMeasurable as error:
            table.missing(name + ".bin", str(error))
            continue
        table.add(name + ".bin", os.path.getsize(os.path.join(build_dir, bare)), "bytes",
                  "loader-none.bin: the raw Image booti loads, without a kernel (header, code, data, relocations)")


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
    # loader_api/reflect.hpp needs Boost.Hana, which the loader never
    # includes: the flags loader_api_reflect_dep adds (meson.build).
    boost = "/usr/include"
    with open(os.path.join(build_dir, "meson-info", "intro-buildoptions.json")) as handle:
        for option in json.load(handle):
            if option["name"] == "boost_include_dir":
                boost = option["value"]
    return entry["directory"], kept + ["-idirafter", boost]


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
# Boot cost (figures 1-2), memory (figure 3) and the planner (figure 5)

SMP = [1, 4, 8]
MEMORY = [("128M", 0.125), ("2G", 2.0), ("16G", 16.0)]
QEMU = "qemu-system-riscv64"
UBOOT = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin"
LOADER_DIR = "examples/reference_loader"
# The image of the matrix (the test kernel as a PIE, its config left at the
# defaults: KASLR on, Sv48 preferred) and of the KASLR and paging-mode axes.
MATRIX_IMAGE = "test"
AXES = {"kaslr_on": "test-kaslr-on-pie", "kaslr_off": "test-kaslr-off-pie",
        "sv39": "test-sv39-pie", "sv48": "test-sv48-pie", "sv57": "test-sv57-pie"}
AXIS_MACHINE = (1, "2G")  # one hart: every count there is exact
SUMMARY_MACHINE = (4, "2G")
VARIANTS = 200  # more host plans per machine, with other KASLR positions

KERNEL_LINE = re.compile(r"^bench: instret kernel entry (\d+), loader entry (\d+), handoff (\d+); "
                         r"bytes kernel (\d+), page tables (\d+), boot info (\d+), loader (\d+)$", re.M)
# The test kernel's copy of the loader's statistics record (loader_stats.h):
# instret spans of the loader's phases, console output and firmware calls.
PHASES = ["door", "setup", "plan", "harts", "handoff"]
PHASES_LINE = re.compile(r"^bench: loader phases door (\d+), setup (\d+), plan (\d+), harts (\d+), handoff (\d+); "
                         r"console (\d+) in (\d+) chars, firmware (\d+)$", re.M)
# The plan phase by step (loader_api::PlanStep), console not included.
PLAN_STEPS = ["inputs", "layout", "kernel", "stacks", "page tables", "boot info"]
PLAN_STEPS_LINE = re.compile(r"^bench: plan steps inputs (\d+), layout (\d+), kernel (\d+), stacks (\d+), "
                             r"page tables (\d+), boot info (\d+)$", re.M)
HOW_PLAN_STEP = {
    "inputs": "the kernel's ELF and LoaderConfig read, RAM and reservations from the machine",
    "layout": "paging mode, physmap/kernel/stack placement (KASLR), inputs reserved from the allocator",
    "kernel": "kernel copy: segments copied, .bss zeroed, relocations applied",
    "stacks": "per-hart stacks and TLS blocks",
    "page tables": "the kernel's page tables: frames zeroed, physmap, kernel, stacks mapped",
    "boot info": "the BootInfo block, the memory map, the area list",
}
# Issue 13's instruction targets (boot hart's own, -icount shift=0, 2 GiB).
TARGET_SMP1 = 120_000
TARGET_SMP4 = 150_000
TARGET_PER_HART = 5_000
# The loader's one line at its default level.
SUMMARY_LINE = re.compile(r"^loader: \S+: kernel entry 0x[0-9a-f]+, (Sv\d+), ", re.M)


def image_path(build_dir, name, suffix="elf"):
    return os.path.join(build_dir, LOADER_DIR, f"loader-{name}.{suffix}")


def boot(image, smp, memory, timeout, uboot=False, efi=False):
    """Boots under -icount; with uboot, `image` is a raw Image that U-Boot's
    distro boot starts with booti (as the uboot boot tests do), with efi as
    BOOTRISCV64.EFI (as the uefi boot tests do)."""
    door = (["--uboot", UBOOT] if uboot or efi else []) + (["--efi"] if efi else [])
    args = qemu_boot.parse_args(["--qemu", QEMU, "--image", image, "--timeout", str(timeout)] + door +
                                ["--expect", KERNEL_LINE.pattern, "--expect", PHASES_LINE.pattern,
                                 "--expect", PLAN_STEPS_LINE.pattern,
                                 "--expect", SUMMARY_LINE.pattern, "--expect", "^PASS$",
                                 "--", "-smp", str(smp), "-m", memory, "-icount", "shift=0"])
    if (uboot or efi) and not os.path.exists(UBOOT):
        raise NotMeasurable(f"{UBOOT} is missing (Debian package u-boot-qemu)")
    with tempfile.TemporaryDirectory(prefix="bench-boot-") as scratch:
        returncode, timed_out, _, console = qemu_boot.run(args, qemu_boot.boot_command(args, scratch))
    problems = qemu_boot.judge(args, returncode, timed_out, console)
    if problems:
        raise NotMeasurable(f"{os.path.basename(image)} -smp {smp} -m {memory}: " + "; ".join(problems))
    kernel = KERNEL_LINE.search(console)
    phases = PHASES_LINE.search(console)
    paging = SUMMARY_LINE.search(console)
    kernel_entry, loader_entry, handoff = (int(kernel.group(i)) for i in (1, 2, 3))
    spans = {name: int(phases.group(i + 1)) for i, name in enumerate(PHASES)}
    steps_match = PLAN_STEPS_LINE.search(console)
    steps = {name: int(steps_match.group(i + 1)) for i, name in enumerate(PLAN_STEPS)}
    total = kernel_entry - loader_entry
    return {
        "efi_door": spans["door"] if efi else None,
        "efi_firmware": int(phases.group(8)) if efi else None,
        "phases": spans,
        "plan_steps": steps,
        "console": int(phases.group(6)), "console_chars": int(phases.group(7)),
        "opensbi": loader_entry,       # reset to the loader's third instruction
        "total": total,                # loader entry to kernel entry, every hart's instructions
        "hart_wait": spans["harts"],   # first hart start until all arrived
        # The boot hart's own: everything but the span in which other harts run.
        "boot_hart": total - spans["harts"],
        "handoff": handoff - loader_entry,
        "mode": paging.group(1), "frames": int(kernel.group(5)) // 4096,
        "bytes": {"kernel": int(kernel.group(4)), "page tables": int(kernel.group(5)),
                  "boot info": int(kernel.group(6))},
        "loader_bytes": int(kernel.group(7)),
    }


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


HOW_TOTAL = "kernel's instret at its first instruction - BootInfo loader_entry_instret"
HOW_BOOT_HART = "kernel_entry - hart_wait: the boot hart's own instructions"
HOW_WAIT = "loader's harts phase: first hart start to every hart arrived, the only span other harts run in"
HOW_PHASE = {
    "door": "entry to the device tree read (EFI: boot services left too): relocation, Plan construction, tree walk",
    "setup": "command line, hart slots, paging probe, entropy",
    "plan": "make_plan: layout, page tables, kernel copy and relocation, BootInfo",
    "handoff": "handoff records, the summary line, up to the handoff",
}
HOW_SBI = "BootInfo loader_entry_instret: reset to loader entry (all harts; varies from boot to boot)"


def add_boot_rows(table, name, result, smp):
    exact = "exact: one hart" if smp == 1 else "QEMU's instret counts every hart"
    table.add(name + ".kernel_entry", result["total"], "instr", f"{HOW_TOTAL} ({exact})")
    table.add(name + ".boot_hart", result["boot_hart"], "instr", HOW_BOOT_HART)
    table.add(name + ".hart_wait", result["hart_wait"], "instr", HOW_WAIT)
    for phase, how in HOW_PHASE.items():
        table.add(f"{name}.phase.{phase}", result["phases"][phase], "instr",
                  f"loader statistics record (loader_stats.h), console included: {how}")
    for step, how in HOW_PLAN_STEP.items():
        table.add(f"{name}.plan.{step.replace(' ', '_')}", result["plan_steps"][step], "instr",
                  f"loader statistics record, plan phase by step (PlanStatistics::step_counts): {how}")
    table.add(name + ".console", result["console"], "instr",
              f"inside console lines, all phases: {result['console_chars']} characters at the default log level")
    table.add(name + ".opensbi", result["opensbi"], "instr", HOW_SBI)
    table.add(name + ".ratio", result["boot_hart"] / result["opensbi"], "loader/OpenSBI", "boot_hart / opensbi")


def boot_or_missing(table, name, build_dir, image, smp, memory):
    """The boot's counts, or None with the row recorded as missing."""
    try:
        return boot(image_path(build_dir, image), smp, memory, 120)
    except (NotMeasurable, subprocess.SubprocessError) as error:
        table.missing(name, str(error))
        return None


def section_boot(table, build_dir, results):
    images = [MATRIX_IMAGE] + list(AXES.values())
    build(build_dir, [os.path.relpath(image_path(build_dir, name), build_dir) for name in images])
    samples = []
    for smp in SMP:
        for memory, gib in MEMORY:
            name = f"boot.smp{smp}.m{memory}"
            result = boot_or_missing(table, name, build_dir, MATRIX_IMAGE, smp, memory)
            if result is None:
                continue
            results[(smp, memory)] = result
            add_boot_rows(table, name, result, smp)
            samples.append((gib, smp, result))
    if len(samples) < 4:
        table.missing("boot.fit", "fewer than 4 points of the -smp x -m matrix booted")
    else:
        for key, label in (("boot_hart", "boot hart's own"), ("total", "global counter")):
            intercept, per_gib, per_hart = least_squares([(g, h, r[key]) for g, h, r in samples])
            how = f"least squares of {key} ({label}) over the -smp x -m matrix"
            table.add(f"boot.fit.{key}.per_gib", per_gib, "instr/GiB", how)
            table.add(f"boot.fit.{key}.per_hart", per_hart, "instr/hart", how)
            table.add(f"boot.fit.{key}.intercept", intercept, "instr", how + ": 0 GiB, 0 harts")
    smp, memory = AXIS_MACHINE
    for axis, image in AXES.items():
        name = f"boot.{axis}.smp{smp}.m{memory}"
        result = boot_or_missing(table, name, build_dir, image, smp, memory)
        if result is None:
            continue
        how = f"loader-{image}.elf: {HOW_TOTAL} (exact: one hart); {result['mode']}, {result['frames']} table frames"
        table.add(name + ".kernel_entry", result["total"], "instr", how)
    # The other doors: the same loader and kernel as a raw Image that U-Boot
    # starts with booti, and as BOOTRISCV64.EFI (embedded kernel, no load
    # options) that U-Boot's UEFI starts, against the OpenSBI -kernel boot.
    image = image_path(build_dir, MATRIX_IMAGE, "bin")
    for door in ("uboot", "efi"):
        for smp in (1, 4):
            name = f"boot.{door}.smp{smp}.m2G"
            try:
                build(build_dir, [os.path.relpath(image, build_dir)])
                result = boot(image, smp, "2G", 180, uboot=door == "uboot", efi=door == "efi")
            except (NotMeasurable, subprocess.SubprocessError) as error:
                table.missing(name, str(error))
                continue
            opensbi = results.get((smp, "2G"))
            versus = f"; OpenSBI -kernel: {opensbi['boot_hart']:,}" if opensbi else ""
            if door == "uboot":
                exact = "exact: one hart" if smp == 1 else "QEMU's instret counts every hart"
                table.add(name + ".kernel_entry", result["total"], "instr",
                          f"loader-{MATRIX_IMAGE}.bin through U-Boot booti: {HOW_TOTAL} ({exact})")
                table.add(name + ".boot_hart", result["boot_hart"], "instr", HOW_BOOT_HART + versus)
                table.add(name + ".firmware", result["opensbi"], "instr",
                          "reset to loader entry: OpenSBI, U-Boot (its 2 s autoboot delay included) and booti")
                continue
            table.add(name + ".boot_hart", result["boot_hart"], "instr",
                      f"loader-{MATRIX_IMAGE}.bin as an EFI application: efi_main to kernel entry, "
                      + HOW_BOOT_HART + versus)
            table.add(name + ".door", result["efi_door"], "instr",
                      "efi_main to ExitBootServices done and the firmware's memory map taken (device tree read "
                      "included)")
            table.add(name + ".in_firmware", result["efi_firmware"], "instr",
                      f"inside EFI calls (ExitBootServices, GetMemoryMap, protocols): "
                      f"{100 * result['efi_firmware'] / result['boot_hart']:.0f}% of the boot hart's")
            table.add(name + ".loader_own", result["boot_hart"] - result["efi_firmware"], "instr",
                      "boot_hart without in_firmware: the loader's own instructions, which the other doors' "
                      "figures are (ExitBootServices alone is about 17,000 of U-Boot's)")


def dump_dtb(smp, memory, path):
    run([QEMU, "-machine", f"virt,dumpdtb={path}", "-smp", str(smp), "-m", memory, "-nographic",
         "-bios", "default"], timeout=60)
    if not os.path.exists(path):
        raise NotMeasurable(f"QEMU dumped no device tree for -smp {smp} -m {memory}")


def loader_symbols(image, names):
    """The addresses of `names` in the loader's ELF file."""
    symbols = {}
    for line in run(["riscv64-linux-gnu-nm", image]).splitlines():
        parts = line.split()
        if len(parts) == 3:
            symbols[parts[2]] = int(parts[0], 16)
    if any(n not in symbols for n in names):
        raise NotMeasurable(f"{image} lacks one of the symbols {names}")
    return [symbols[n] for n in names]


def loader_layout(image):
    """The loader image as it lies in RAM: text, data, end, embedded kernel."""
    names = ["__loader_start", "__loader_data_start", "__loader_end", "loader_kernel_elf_start"]
    return ",".join(hex(address) for address in loader_symbols(image, names))


def qemu_dtb_address(memory_gib, dtb_size):
    """Where QEMU 7.2 virt puts the tree: below min(end of RAM, 3 GiB), 16 MiB aligned."""
    ram_end = 0x8000_0000 + int(memory_gib * (1 << 30))
    return (min(ram_end, 3 << 30) - dtb_size) & ~((16 << 20) - 1)


def plan_fields(output):
    for line in output.splitlines():
        if line.startswith("mode=") or line.startswith("machines="):
            return dict(item.split("=", 1) for item in line.split())
    raise NotMeasurable("plan_bench printed no result line")


def loader_footprint(image):
    """The loader's memory from its ELF symbols: image (code, data) and NOLOAD (boot stack, plan, room for
    the harts of most machines), less the embedded kernel file's pages."""
    start, end, kernel_start, kernel_end = loader_symbols(
        image, ["__loader_start", "__loader_end", "loader_kernel_elf_start", "loader_kernel_elf_end"])
    return end - start - (kernel_end - kernel_start + 4095) // 4096 * 4096


def section_memory(table, build_dir, results, summary):
    bench = os.path.join(build_dir, "bench", "plan_bench")
    kernel = os.path.join(build_dir, "examples", "kernels", "test-kernel-pie.elf")
    image = image_path(build_dir, MATRIX_IMAGE)
    build(build_dir, ["bench/plan_bench", os.path.relpath(kernel, build_dir), os.path.relpath(image, build_dir)])
    layout = loader_layout(image)
    footprint = loader_footprint(image)
    summary["footprint"] = footprint / 1024
    table.add("memory.loader_footprint_kib", footprint / 1024, "KiB",
              f"loader-{MATRIX_IMAGE}.elf __loader_end - __loader_start less the embedded kernel: image and NOLOAD "
              "(boot stack, plan, room for 16 harts); a tree with more harts adds room after the image")
    for smp in SMP:
        real = results.get((smp, "2G"))
        if real:
            table.add(f"memory.smp{smp}.m2G.loader_kib", real["loader_bytes"] / 1024, "KiB",
                      "real boot: LoaderReclaimable regions of the BootInfo less the kernel file's pages")
    with tempfile.TemporaryDirectory(prefix="bench-dtb-") as scratch:
        for smp in SMP:
            for memory, gib in MEMORY:
                name = f"memory.smp{smp}.m{memory}"
                try:
                    dtb = os.path.join(scratch, f"virt-{smp}-{memory}.dtb")
                    dump_dtb(smp, memory, dtb)
                    fields = plan_fields(run([bench, "plan", dtb, kernel, "--layout", layout, "--dtb-at",
                                              hex(qemu_dtb_address(gib, os.path.getsize(dtb))),
                                              "--variants", str(VARIANTS)]))
                except NotMeasurable as error:
                    table.missing(name, str(error))
                    continue
                frames, minimum = int(fields["table_frames"]), int(fields["minimum_frames"])
                low, high = int(fields["table_frames_min"]), int(fields["table_frames_max"])
                not_minimal = int(fields["not_minimal"])
                permanent = int(fields["permanent_bytes"])
                real = results.get((smp, memory))
                real_frames = f"; real boot {real['frames']}" if real else ""
                equal = ("= kmem::minimum_table_frames in every plan" if not_minimal == 0 else
                         f"ABOVE kmem::minimum_table_frames in {not_minimal} plans")
                table.add(name + ".table_frames", frames, "frames",
                          f"host plan of QEMU's tree ({fields['mode']}), {equal}; {low}-{high} over "
                          f"{VARIANTS + 1} KASLR positions{real_frames}")
                parts = ", ".join(f"{k.replace('_bytes', '').replace('_', ' ')} {int(fields[k]) // 1024}"
                                  for k in ("kernel_bytes", "page_table_bytes", "boot_info_bytes"))
                real_kib = f"; real boot {sum(real['bytes'].values()) // 1024}" if real else ""
                table.add(name + ".permanent_kib", permanent / 1024, "KiB",
                          f"Kernel + PageTables + BootInfo regions of the host plan: {parts}; "
                          f"{int(fields['permanent_min']) // 1024}-{int(fields['permanent_max']) // 1024} over the "
                          f"KASLR positions{real_kib}; besides: stacks {int(fields['stack_bytes']) // 1024}, "
                          f"TLS {int(fields['tls_bytes']) // 1024}")
                if (smp, memory) == SUMMARY_MACHINE:
                    summary["frames"] = (frames, minimum, low, high, not_minimal, real["frames"] if real else None)
                    summary["permanent"] = (permanent / 1024, int(fields["permanent_min"]) / 1024,
                                            int(fields["permanent_max"]) / 1024,
                                            sum(real["bytes"].values()) / 1024 if real else None, parts)


def section_planner(table, build_dir):
    bench = os.path.join(build_dir, "bench", "plan_bench")
    kernel = os.path.join(build_dir, "examples", "kernels", "test-kernel-pie.elf")
    image = image_path(build_dir, MATRIX_IMAGE)
    build(build_dir, ["bench/plan_bench", os.path.relpath(kernel, build_dir), os.path.relpath(image, build_dir)])
    smp, memory = SUMMARY_MACHINE
    with tempfile.TemporaryDirectory(prefix="bench-callgrind-") as scratch:
        dtb = os.path.join(scratch, "virt.dtb")
        dump_dtb(smp, memory, dtb)
        gib = dict(MEMORY)[memory]
        out_file = os.path.join(scratch, "callgrind.out")
        run(["valgrind", "--tool=callgrind", "--instr-atstart=no", "--collect-atstart=no",
             f"--callgrind-out-file={out_file}", bench, "plan", dtb, kernel, "--layout", loader_layout(image),
             "--dtb-at", hex(qemu_dtb_address(gib, os.path.getsize(dtb)))])
        with open(out_file) as handle:
            match = re.search(r"^totals:\s+(\d+)", handle.read(), re.MULTILINE)
    if not match:
        raise NotMeasurable("no totals in the callgrind output of plan_bench plan")
    table.add("planner.ir_4hart_2g", int(match.group(1)), "instr",
              f"callgrind Ir of make_plan() alone (x86-64, -O2, SimulatedMemory): QEMU's -smp {smp} -m {memory} "
              "tree, test-kernel-pie.elf")
    rates, planned, machines = [], 0, 0
    for seed in (1, 2, 3):
        fields = plan_fields(run([bench, "random", kernel, "2000", str(seed)]))
        rates.append(float(fields["per_second"]))
        planned += int(fields["planned"])
        machines += int(fields["machines"])
    rates.sort()
    table.add("planner.machines_per_s", rates[1], "machines/s",
              f"WALL CLOCK (noisy, shared host): median of 3 x 2000 random machines (plan_bench random: "
              f"1-32 harts, 32 MiB-64 GiB in 1-3 ranges), time in make_plan() only; runs {rates[0]:,.0f} to "
              f"{rates[2]:,.0f}/s; {planned} of {machines} planned, the rest rejected for lack of room")


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


def summary_lines(table, summary, markdown):
    """The -smp 4 -m 2G machine in one small table (issue 7 asks for these first)."""
    smp, memory = SUMMARY_MACHINE
    point = f"boot.smp{smp}.m{memory}"
    rows = []

    def value(name, unit=""):
        found = table.get(name)
        return "NOT MEASURED" if found is None else f"{Table.format_value(found)}{unit}"

    rows.append(("loader entry -> kernel entry, boot hart's own instructions", value(point + ".boot_hart"),
                 "the boot hart's instructions (the span in which the other harts run taken out)"))
    rows.append(("loader entry -> kernel entry, global counter", value(point + ".kernel_entry"),
                 "QEMU's instret under -icount counts every hart: mostly the other harts spinning"))
    rows.append(("same at -smp 1 (exact)", value(f"boot.smp1.m{memory}.kernel_entry"),
                 "one hart: the counter is the boot hart's"))
    rows.append(("OpenSBI reset -> loader entry", value(point + ".opensbi"),
                 "global counter (all harts), varies from boot to boot"))
    def against(name, target, what):
        found = table.get(name)
        if found is None:
            return ("NOT MEASURED", what)
        return (f"{Table.format_value(found)}", f"{what}; issue 13 target <= {target:,}: "
                + ("met" if found <= target else "NOT met"))

    for door, label in (("", "OpenSBI -kernel"), ("uboot.", "U-Boot booti"), ("efi.", "UEFI (efi_main on)")):
        for harts, target in ((1, TARGET_SMP1), (4, TARGET_SMP4)):
            rows.append((f"{label}, -smp {harts}: boot hart's own instructions",
                         *against(f"boot.{door}smp{harts}.m{memory}.boot_hart", target,
                                  "loader entry -> kernel entry" + (", exact" if harts == 1 else ""))))
    for harts, target in ((1, TARGET_SMP1), (4, TARGET_SMP4)):
        rows.append((f"UEFI, -smp {harts}: the loader's own (firmware calls taken out)",
                     *against(f"boot.efi.smp{harts}.m{memory}.loader_own", target,
                              "the UEFI row without the firmware's instructions inside its calls")))
    rows.append(("per added hart (least squares over the matrix)",
                 *against("boot.fit.boot_hart.per_hart", TARGET_PER_HART, "boot hart's own instructions")))
    one = f"boot.smp1.m{memory}"
    # Not the harts phase: it is the span other harts run in, outside the boot hart's own count.
    for phase, how in HOW_PHASE.items():
        rows.append((f"  -smp 1 phase {phase}", value(f"{one}.phase.{phase}"), "console included: " + how))
        if phase == "plan":
            for step in PLAN_STEPS:
                rows.append((f"    plan step {step}", value(f"{one}.plan.{step.replace(' ', '_')}"),
                             HOW_PLAN_STEP[step]))
    rows.append(("  -smp 1 console", value(f"{one}.console"), "inside console lines, all phases"))
    rows.append(("host instructions to plan this machine", value("planner.ir_4hart_2g"), "callgrind, x86-64"))
    if "frames" in summary:
        frames, minimum, low, high, not_minimal, real = summary["frames"]
        minimal = "= kmem::minimum_table_frames" if not_minimal == 0 else "NOT always minimal"
        rows.append(("page-table frames", f"{low}-{high}",
                     f"by KASLR position, {minimal} in all {VARIANTS + 1} host plans; the real boot used {real if real is not None else 'n/a'}"))
    else:
        rows.append(("page-table frames", "NOT MEASURED", ""))
    if "permanent" in summary:
        kib, low, high, real, parts = summary["permanent"]
        real_text = "n/a" if real is None else f"{real:.0f}"
        rows.append(("permanently used KiB (besides stacks, TLS)", f"{low:.0f}-{high:.0f}",
                     f"Kernel + PageTables + BootInfo: one plan {parts} KiB; the real boot {real_text}"))
    else:
        rows.append(("permanently used KiB (besides stacks, TLS)", "NOT MEASURED", ""))
    if "footprint" in summary:
        rows.append(("loader footprint KiB (image + NOLOAD + stacks)", f"{summary['footprint']:.0f}",
                     "gcc -O2, embedded kernel not counted; the same for 1-16 harts"))
    else:
        rows.append(("loader footprint KiB (image + NOLOAD + stacks)", "NOT MEASURED", ""))
    for compiler in ("gcc", "clang"):
        for level in ("2", "s"):
            total = table.get(f"size.{compiler}.O{level}.total")
            rows.append((f"loader-none .text + .rodata + .data, {compiler} -O{level}",
                         "NOT MEASURED" if total is None else f"{total:,} bytes",
                         f"target <= {SIZE_TARGETS[level]:,}; U-Boot and UEFI doors included, no kernel inside"))
    return format_table(("-smp 4 -m 2G, -icount shift=0", "value", "note"), rows, markdown)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("build_dir")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--require-all", action="store_true",
                        help="accepted for old command lines: every figure is required now")
    parser.add_argument("--markdown", metavar="FILE", help="also write the summary and the table as markdown")
    parser.add_argument("--extra-prefix", default="bench", metavar="NAME",
                        help="build/NAME-{gcc,clang}-{O2,Os} for sizes and compile costs (default: bench)")
    args = parser.parse_args(argv)
    build_dir = os.path.abspath(args.build_dir)
    sections = [s for s in args.only.split(",") if s]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown sections {unknown}; known: {SECTIONS}")

    started = time.monotonic()
    table = Table()
    dirs = None
    boot_results, summary = {}, {}
    for section in sections:
        log(f"{section} ({time.monotonic() - started:.0f} s)")
        try:
            if section in ("size", "compile") and dirs is None:
                dirs = extra_build_dirs(args.extra_prefix)
            if section == "pagetable":
                section_pagetable(table, build_dir)
            elif section == "size":
                section_size(table, dirs)
            elif section == "compile":
                section_compile(table, dirs)
            elif section == "boot":
                section_boot(table, build_dir, boot_results)
            elif section == "memory":
                section_memory(table, build_dir, boot_results, summary)
            elif section == "planner":
                section_planner(table, build_dir)
        except (NotMeasurable, OSError, subprocess.SubprocessError) as error:
            table.missing(section, str(error))
    elapsed = time.monotonic() - started

    print("\n".join(summary_lines(table, summary, False)))
    print()
    print("\n".join(table.lines()))
    print(f"\n({elapsed:.0f} s)")
    if args.markdown:
        with open(args.markdown, "w") as handle:
            handle.write("\n".join(summary_lines(table, summary, True)) + "\n\n")
            handle.write("\n".join("- " + line for line in machine_description()) + "\n\n")
            handle.write("\n".join(table.lines(markdown=True)) + "\n")
            handle.write(f"\nrun took {elapsed:.0f} s\n")
    bad = table.failed()
    if bad:
        log(f"{len(bad)} figure(s) could not be measured: {', '.join(bad)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
