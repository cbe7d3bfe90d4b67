#!/usr/bin/env python3
"""Tests of the loader-plan tool, one case per run:

    check_loader_plan.py CASE --tool loader-plan --dtc dtc --dtb board.dtb
                         --kernel kernel.elf [--fixed-kernel kernel.elf]
                         [--sv57-kernel kernel.elf]
                         [--no-config-kernel kernel.elf]

The expected facts come from the device tree as dtc decompiles it (cpu
count, RAM ranges) and from the files themselves, never from the tool.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def run(args, tool, *options):
    command = [tool, "--dtb", args.dtb, "--kernel", args.kernel] + list(options)
    result = subprocess.run(command, capture_output=True, text=True)
    print("$ " + " ".join(command) + "  -> exit %d" % result.returncode)
    return result


def run_raw(tool, *options):
    result = subprocess.run([tool] + list(options), capture_output=True, text=True)
    print("$ " + " ".join([tool] + list(options)) + "  -> exit %d" % result.returncode)
    return result


def tree_facts(dtc, dtb):
    """CPU count and RAM ranges of a tree, read from dtc's source output.
    Handles the root's #address-cells/#size-cells (QEMU uses 2/2)."""
    source = subprocess.run([dtc, "-q", "-I", "dtb", "-O", "dts", dtb], capture_output=True, text=True, check=True).stdout
    root = source[source.index("/ {"):]
    address_cells = int(re.search(r"#address-cells = <(0x[0-9a-f]+)>", root).group(1), 16)
    size_cells = int(re.search(r"#size-cells = <(0x[0-9a-f]+)>", root).group(1), 16)
    cpus = len(re.findall(r'\n\t\tcpu@[0-9a-f]+ \{[^{}]*device_type = "cpu"', root))
    ram = []
    for match in re.finditer(r'\n\tmemory@[0-9a-f]+ \{([^{}]*)\}', root):
        body = match.group(1)
        if 'device_type = "memory"' not in body:
            continue
        cells = [int(c, 16) for c in re.search(r"reg = <([^>]*)>", body).group(1).split()]
        step = address_cells + size_cells
        for i in range(0, len(cells), step):
            address = 0
            for c in cells[i:i + address_cells]:
                address = address << 32 | c
            size = 0
            for c in cells[i + address_cells:i + step]:
                size = size << 32 | c
            ram.append((address, address + size))
    ram.sort()
    return cpus, ram


def merged(ranges):
    out = []
    for begin, end in sorted(ranges):
        if out and out[-1][1] == begin:
            out[-1] = (out[-1][0], end)
        else:
            out.append((begin, end))
    return out


def plan_json(args, *options):
    result = run(args, args.tool, "--json", *options)
    check(result.returncode == 0, "--json failed: " + result.stderr)
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError as error:
        fail("--json output does not parse: %s" % error)


def case_report(args):
    cpus, ram = tree_facts(args.dtc, args.dtb)
    result = run(args, args.tool, "--seed", "00112233445566778899aabbccddeeff")
    check(result.returncode == 0, "report failed: " + result.stderr)
    text = result.stdout
    print(text)
    for section in ["Simulated inputs", "Plan", "Harts (", "Physical memory map", "Allocations", "Virtual layout",
                    "Page tables", "KASLR", "Warnings"]:
        check(("\n" + section) in text, "report has no section " + section)
    check("Harts (%d, %d started)" % (cpus, cpus) in text, "report does not list %d started harts" % cpus)
    harts = text.split("\nHarts (")[1].split("\n\n")[0].splitlines()[2:]
    check(len(harts) == cpus, "hart table has %d rows, the tree %d cpus" % (len(harts), cpus))
    check("entropy: --seed (16 bytes)" in text, "the seed is not reported")
    source = subprocess.run([args.dtc, "-q", "-I", "dtb", "-O", "dts", args.dtb], capture_output=True, text=True).stdout
    seed = re.search(r"rng-seed = <([^>]*)>", source)
    if seed:
        seed_bytes = 4 * len(seed.group(1).split())
        check("hashed with /chosen/rng-seed (%d bytes)" % seed_bytes in text, "the tree's rng-seed is not reported")
    check("(KASLR)" in text, "a PIE kernel with a seed is not randomised")
    ram_total = sum(end - begin for begin, end in ram)
    check("RAM %d GiB" % (ram_total >> 30) in text if ram_total % (1 << 30) == 0 else "RAM " in text,
          "RAM total is not %d bytes" % ram_total)
    check(re.search(r"frames used \d+ \(.*\), minimum for these leaves \d+", text), "no page-table figures")
    # A seeded run is deterministic.
    again = run(args, args.tool, "--seed", "00112233445566778899aabbccddeeff")
    check(again.stdout == text, "two runs with the same seed differ")


def case_json(args):
    cpus, ram = tree_facts(args.dtc, args.dtb)
    document = plan_json(args, "--seed", "0badc0de")
    plan, info = document["plan"], document["boot_info"]
    check(len(plan["harts"]) == cpus, "plan has %d harts, the tree %d cpus" % (len(plan["harts"]), cpus))
    check(len(info["harts_entries"]) == cpus, "BootInfo has %d harts, the tree %d cpus" % (len(info["harts_entries"]), cpus))
    check(plan["mode"] == info["paging_mode"], "plan mode %s, BootInfo %s" % (plan["mode"], info["paging_mode"]))
    check(plan["mode"] in ("Sv39", "Sv48", "Sv57"), "mode " + str(plan["mode"]))
    regions = [(r["range"]["begin"], r["range"]["end"]) for r in info["memory_regions_entries"]]
    check(regions == [(r["range"]["begin"], r["range"]["end"]) for r in plan["regions"]], "plan and BootInfo regions differ")
    for (b0, e0), (b1, e1) in zip(regions, regions[1:]):
        check(e0 <= b1, "regions overlap or are unsorted: %#x-%#x, %#x-%#x" % (b0, e0, b1, e1))
    check(merged(regions) == merged(ram), "regions %s do not cover exactly the RAM %s" %
          ([(hex(b), hex(e)) for b, e in merged(regions)], [(hex(b), hex(e)) for b, e in ram]))
    for allocation in plan["allocations"]:
        begin, end = allocation["range"]["begin"], allocation["range"]["end"]
        check(any(b <= begin and end <= e for b, e in ram), "allocation %s outside RAM" % allocation)
    check(plan["kaslr"] is True and plan["kaslr_slide"] != 0, "PIE with a seed: KASLR expected")
    check(document["inputs"]["entropy"] == "--seed" and document["inputs"]["entropy_bytes"] == 4, "entropy not recorded")
    # QEMU's dumped tree lacks OpenSBI's reservation: the tool adds 256 KiB
    # at RAM base (documented), --tree-as-is does not.
    source = subprocess.run([args.dtc, "-q", "-I", "dtb", "-O", "dts", args.dtb], capture_output=True, text=True).stdout
    if "reserved-memory" not in source and "/memreserve/" not in source:
        base = ram[0][0]
        reserved = [r for r in plan["regions"] if r["kind"] == "Reserved"]
        check([(r["range"]["begin"], r["range"]["end"]) for r in reserved] == [(base, base + (256 << 10))],
              "OpenSBI's reservation is not the one Reserved region: %s" % reserved)
        as_is = plan_json(args, "--seed", "0badc0de", "--tree-as-is")
        check(not any(r["kind"] == "Reserved" for r in as_is["plan"]["regions"]), "--tree-as-is still reserves")
        check(as_is["inputs"]["firmware_reserve_added"] is None, "--tree-as-is: reservation recorded")
    check(plan["stats"]["table_frames"] >= document["minimum_table_frames"] > 0, "table frame figures")
    check(info["header"]["magic"] == int.from_bytes(b"BOOTINFO", "little"), "BootInfo magic")
    kernel_size = os.path.getsize(args.kernel)
    kernel_file = info["kernel_file"]
    check(kernel_file["end"] - kernel_file["begin"] == kernel_size, "kernel_file is not the file's size")
    # Another seed moves the kernel (2^26 positions: a collision is not a concern).
    other = plan_json(args, "--seed", "0badc0df")
    check(other["plan"]["kaslr_slide"] != plan["kaslr_slide"], "another seed gave the same slide")
    if args.fixed_kernel:
        fixed_args = argparse.Namespace(**vars(args))
        fixed_args.kernel = args.fixed_kernel
        fixed = plan_json(fixed_args, "--seed", "0badc0de")
        check(fixed["plan"]["kaslr_slide"] == 0, "a non-PIE kernel was moved")


def case_svg(args):
    document = plan_json(args, "--seed", "5eed")
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "plan.svg")
        result = run(args, args.tool, "--seed", "5eed", "--svg", path)
        check(result.returncode == 0, "--svg failed: " + result.stderr)
        try:
            tree = ET.parse(path)
        except ET.ParseError as error:
            fail("SVG is not well-formed XML: %s" % error)
    root = tree.getroot()
    check(root.tag == "{http://www.w3.org/2000/svg}svg", "root element is " + root.tag)
    texts = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
    rects = list(root.iter("{http://www.w3.org/2000/svg}rect"))
    check(len(rects) > 0, "no blocks drawn")
    # Every region of the memory map starts a labelled block, and every
    # virtual area (4 harts: drawn one by one) has its range as a label.
    for region in document["boot_info"]["memory_regions_entries"]:
        start = "[%s, " % hex(region["range"]["begin"])
        check(any(t.startswith(start) for t in texts), "no label for the region at " + start)
    for area in document["plan"]["areas"]:
        label = "[%s, %s)" % (hex(area["range"]["begin"]), hex(area["range"]["end"]))
        check(label in texts, "no label for the virtual area " + label)
    check(any(t.startswith("gap ") for t in texts), "no break marker for the holes")


MODES = ["Sv39", "Sv48", "Sv57"]
LEVELS = {"Sv39": 39, "Sv48": 48, "Sv57": 57}


def check_higher_half(document, mode):
    # The kernel lies in the higher half of its mode: sign-extended from bit levels-1.
    kernel = document["boot_info"]["kernel_virtual"]["begin"]
    check(kernel >= (1 << 64) - (1 << (LEVELS[mode] - 1)), "kernel %#x not in the %s higher half" % (kernel, mode))


def case_mode(args):
    # --mode is loader.paging=: a cap. Every kernel accepts Sv39 (the
    # narrowest), so a cap at Sv39 always gives Sv39.
    result = run(args, args.tool, "--mode", "sv39", "--seed", "01")
    check(result.returncode == 0, "--mode sv39 failed: " + result.stderr)
    check(re.search(r"\n  paging mode +Sv39 \(.*capped at Sv39 by --mode\)", result.stdout),
          "--mode sv39 does not show Sv39 capped")
    uncapped = plan_json(args)["plan"]["mode"]
    for probe in [None, "sv57"]:
        probe_options = ["--probe", probe] if probe else []
        free = plan_json(args, *probe_options)
        check(free["inputs"]["mode_cap"] is None, "no --mode, yet a cap is recorded")
        for mode in MODES:
            document = plan_json(args, "--mode", mode.lower(), *probe_options)
            chosen = document["plan"]["mode"]
            check(chosen == document["boot_info"]["paging_mode"], "plan and BootInfo modes differ")
            check(document["inputs"]["mode_cap"] == mode, "cap not recorded")
            check(MODES.index(chosen) <= MODES.index(mode), "--mode %s gave %s, above the cap" % (mode, chosen))
            if MODES.index(free["plan"]["mode"]) <= MODES.index(mode):
                check(chosen == free["plan"]["mode"], "a cap at or above the uncapped mode %s changed it to %s" %
                      (free["plan"]["mode"], chosen))
            check_higher_half(document, chosen)
    check(plan_json(args, "--mode", "sv39")["plan"]["mode"] == "Sv39", "--mode sv39 json")
    check(uncapped in MODES, "mode " + uncapped)


def case_mode_unsupported(args):
    # The Sv57-only test kernel (LoaderConfig min = max = Sv57) on QEMU 7.2's
    # tree, whose harts say riscv,sv48: no mode, the planner's named error,
    # exit 1, unless the probe is said to accept Sv57; then a cap below
    # Sv57 excludes it again.
    check(args.sv57_kernel, "needs --sv57-kernel")
    source = subprocess.run([args.dtc, "-q", "-I", "dtb", "-O", "dts", args.dtb], capture_output=True, text=True).stdout
    tree_says_sv57 = 'mmu-type = "riscv,sv57"' in source
    prefix = "loader-plan: %s + %s: plan: no paging mode" % (args.dtb, args.sv57_kernel)
    if not tree_says_sv57:
        result = run_raw(args.tool, "--dtb", args.dtb, "--kernel", args.sv57_kernel)
        print(result.stderr)
        check(result.returncode == 1, "an Sv57-only kernel on Sv48 harts: exit %d, expected 1" % result.returncode)
        check(result.stderr.startswith(prefix), "not the planner's error: " + result.stderr)
    result = run_raw(args.tool, "--dtb", args.dtb, "--kernel", args.sv57_kernel, "--probe", "sv57", "--json")
    check(result.returncode == 0, "the Sv57-only kernel with --probe sv57: " + result.stderr)
    document = json.loads(result.stdout)
    check(document["plan"]["mode"] == "Sv57", "--probe sv57: mode " + document["plan"]["mode"])
    check_higher_half(document, "Sv57")
    result = run_raw(args.tool, "--dtb", args.dtb, "--kernel", args.sv57_kernel, "--probe", "sv57", "--mode", "sv48")
    print(result.stderr)
    check(result.returncode == 1, "the Sv57-only kernel capped at Sv48: exit %d, expected 1" % result.returncode)
    check(result.stderr.startswith(prefix), "not the planner's error: " + result.stderr)
    check(result.stdout == "", "output despite the error")


def case_bad_dtb(args):
    with open(args.dtb, "rb") as f:
        blob = f.read()
    with tempfile.TemporaryDirectory() as scratch:
        for name, data in [("truncated.dtb", blob[:100]), ("badmagic.dtb", b"\0" * 4 + blob[4:4096])]:
            path = os.path.join(scratch, name)
            with open(path, "wb") as f:
                f.write(data)
            result = run_raw(args.tool, "--dtb", path, "--kernel", args.kernel)
            print(result.stderr)
            check(result.returncode == 1, "%s: exit %d, expected 1" % (name, result.returncode))
            check(result.stderr.startswith("loader-plan: %s: fdt: " % path), "%s: not the reader's error: %s" % (name, result.stderr))
            check(result.stdout == "", "%s: output despite the error" % name)


def case_bad_kernel(args):
    with open(args.kernel, "rb") as f:
        elf = f.read()
    with tempfile.TemporaryDirectory() as scratch:
        cases = [("truncated.elf", elf[:200]), ("notelf.elf", b"this is not an ELF file" * 10),
                 ("headeronly.elf", elf[:40])]
        for name, data in cases:
            path = os.path.join(scratch, name)
            with open(path, "wb") as f:
                f.write(data)
            result = run_raw(args.tool, "--dtb", args.dtb, "--kernel", path)
            print(result.stderr)
            check(result.returncode == 1, "%s: exit %d, expected 1" % (name, result.returncode))
            check(result.stderr.startswith("loader-plan: %s: elf: " % path), "%s: not the reader's error: %s" % (name, result.stderr))
        if args.no_config_kernel:
            # A well-formed ELF the planner refuses: its error, against the kernel.
            result = run_raw(args.tool, "--dtb", args.dtb, "--kernel", args.no_config_kernel)
            print(result.stderr)
            check(result.returncode == 1, "kernel without LoaderConfig: exit %d, expected 1" % result.returncode)
            check(result.stderr.startswith("loader-plan: %s: plan: " % args.no_config_kernel) and
                  ".loader_config" in result.stderr, "not the planner's error: " + result.stderr)
        missing = os.path.join(scratch, "missing.elf")
        result = run_raw(args.tool, "--dtb", args.dtb, "--kernel", missing)
        check(result.returncode == 1 and ("%s: cannot read" % missing) in result.stderr, "missing file: " + result.stderr)


def case_usage(args):
    cases = [[], ["--dtb", args.dtb], ["--kernel", args.kernel], ["--dtb", args.dtb, "--kernel", args.kernel, "--mode", "sv32"],
             ["--dtb", args.dtb, "--kernel", args.kernel, "--probe", "sv64"], ["--dtb", args.dtb, "--kernel", args.kernel, "--boot-hart", "x"],
             ["--dtb", args.dtb, "--kernel", args.kernel, "--seed", "xyz"],
             ["--dtb", args.dtb, "--kernel", args.kernel, "--seed", "abc"],
             ["--dtb", args.dtb, "--kernel", args.kernel, "--json", "--svg", "x.svg"],
             ["--dtb", args.dtb, "--kernel", args.kernel, "--frobnicate"], ["--dtb"]]
    for options in cases:
        result = run_raw(args.tool, *options)
        check(result.returncode == 2, "%s: exit %d, expected 2" % (options, result.returncode))
        check("usage: loader-plan" in result.stderr, "%s: no usage text" % options)
    result = run_raw(args.tool, "--help")
    check(result.returncode == 0 and "--mode" in result.stdout and "0x80200000" in result.stdout, "--help")


def case_entropy(args):
    # The tree's /chosen/rng-seed alone randomises; without it and without
    # --seed KASLR is off and the planner says so.
    source = subprocess.run([args.dtc, "-q", "-I", "dtb", "-O", "dts", args.dtb], capture_output=True, text=True,
                            check=True).stdout
    check("rng-seed" in source, "the QEMU tree has no rng-seed: this case needs one")
    document = plan_json(args)
    check(document["inputs"]["entropy"] == "/chosen/rng-seed", "entropy source " + document["inputs"]["entropy"])
    check(document["plan"]["kaslr"] is True, "the tree's rng-seed did not randomise")
    with tempfile.TemporaryDirectory() as scratch:
        dts, dtb = os.path.join(scratch, "noseed.dts"), os.path.join(scratch, "noseed.dtb")
        with open(dts, "w") as f:
            f.write(re.sub(r"\n\s*rng-seed = <[^>]*>;", "", source))
        subprocess.run([args.dtc, "-q", "-I", "dts", "-O", "dtb", "-o", dtb, dts], check=True)
        result = run_raw(args.tool, "--dtb", dtb, "--kernel", args.kernel, "--json")
        check(result.returncode == 0, "tree without rng-seed: " + result.stderr)
        document = json.loads(result.stdout)
        check(document["inputs"]["entropy"] == "none", "entropy source " + document["inputs"]["entropy"])
        check(document["plan"]["kaslr"] is False, "KASLR without entropy")
        check(len(document["warning_messages"]) > 0 and len(document["plan"]["warnings"]) > 0,
              "no warning for KASLR off")
        check(any("entropy" in w["message"] for w in document["plan"]["warnings"]), "no warning names the entropy")
        result = run_raw(args.tool, "--dtb", dtb, "--kernel", args.kernel)
        warnings = result.stdout.split("\nWarnings (")[1]
        check(not warnings.startswith("0)"), "report lists no warning: " + warnings)


CASES = {
    "entropy": case_entropy,
    "report": case_report,
    "json": case_json,
    "svg": case_svg,
    "mode": case_mode,
    "mode-unsupported": case_mode_unsupported,
    "bad-dtb": case_bad_dtb,
    "bad-kernel": case_bad_kernel,
    "usage": case_usage,
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("--tool", required=True)
    parser.add_argument("--dtc", required=True)
    parser.add_argument("--dtb", required=True)
    parser.add_argument("--kernel", required=True)
    parser.add_argument("--fixed-kernel")
    parser.add_argument("--sv57-kernel")
    parser.add_argument("--no-config-kernel")
    args = parser.parse_args()
    CASES[args.case](args)
    print("ok")


if __name__ == "__main__":
    main()
