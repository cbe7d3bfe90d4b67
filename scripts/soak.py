#!/usr/bin/env python3
"""Boots the test kernel many times on random machines and counts what happens.

usage: scripts/soak.py [--build build/gcc] [--boots 1000] [--jobs 4] [--seed N]

Each boot picks -smp 1..8, -m from 64 MiB to 8 GiB and a paging mode (the
test kernel built to prefer Sv39, Sv48 or Sv57, as a PIE with KASLR on),
boots it in QEMU virt under OpenSBI through tests/boot/qemu_boot.py and
requires the test kernel's PASS, a hello from every hart, the mode asked
for, a KASLR slide and no loader warning. --jobs boots run at once, more
than the machine has cores, so that harts are descheduled at awkward
moments as on a loaded CI machine. The loader logs at info, so a hart it
had to start again after OpenSBI's start race (docs/design.md) is counted.

The report ends with one line: boots, passed, failed, recovered races and
the seed that reproduces the run. Failing boots' consoles are kept under
--keep (default: soak-failures/ in the build directory). Not part of
./dev.sh check: a thousand boots take tens of minutes.
"""

import argparse
import concurrent.futures
import os
import random
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(ROOT, "tests", "boot", "qemu_boot.py")
MEMORY = ["64M", "128M", "256M", "512M", "1G", "2G", "4G", "8G"]
MODES = ["sv39", "sv48", "sv57"]
RACE = re.compile(r"back in the firmware before reaching the loader \(OpenSBI start race\)")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.path.join(ROOT, "build", "gcc"), help="a configured build directory")
    parser.add_argument("--boots", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=4, help="boots at once (default 4)")
    parser.add_argument("--seed", type=int, help="reproduces a run's choice of machines")
    parser.add_argument("--qemu", default="qemu-system-riscv64")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds before a boot counts as hung")
    parser.add_argument("--keep", help="directory for the consoles of failing boots")
    return parser.parse_args()


def machine(rng):
    return {"smp": rng.randint(1, 8), "mem": rng.choice(MEMORY), "mode": rng.choice(MODES)}


def boot(args, index, spec):
    image = os.path.join(args.build, "examples", "reference_loader", f"loader-test-{spec['mode']}-pie.elf")
    mode_name = spec["mode"][:1].upper() + spec["mode"][1:]
    command = [sys.executable, RUNNER, "--qemu", args.qemu, "--image", image, "--timeout", str(args.timeout),
               "--harts", str(spec["smp"]), "--expect", "^PASS$", "--forbid", "^FAIL",
               "--expect", rf"^loader: \d+\.\d+\.\d+: kernel entry 0x[0-9a-f]+, {mode_name}, ",
               "--expect", "KASLR slide 0x[0-9a-f]+", "--forbid", "^loader: (warn|error)",
               "--", "-smp", str(spec["smp"]), "-m", spec["mem"], "-append", "loader.log=info"]
    started = time.monotonic()
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    return index, spec, result.returncode, result.stdout, time.monotonic() - started


def main():
    args = parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    rng = random.Random(seed)
    specs = [machine(rng) for _ in range(args.boots)]
    for mode in MODES:
        image = os.path.join(args.build, "examples", "reference_loader", f"loader-test-{mode}-pie.elf")
        if not os.path.exists(image):
            sys.exit(f"soak: no {image}: build it first (meson compile -C {args.build})")
    keep = args.keep or os.path.join(args.build, "soak-failures")
    passed = failed = races = 0
    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(boot, args, i, spec) for i, spec in enumerate(specs)]
        for future in concurrent.futures.as_completed(futures):
            index, spec, status, output, seconds = future.result()
            races += len(RACE.findall(output))
            label = f"boot {index}: -smp {spec['smp']} -m {spec['mem']} {spec['mode']}"
            if status == 0:
                passed += 1
            else:
                failed += 1
                os.makedirs(keep, exist_ok=True)
                path = os.path.join(keep, f"boot-{index}.log")
                with open(path, "w") as f:
                    f.write(label + "\n" + output)
                print(f"{label}: FAILED in {seconds:.1f} s (console in {path})", flush=True)
            done = passed + failed
            if done % 50 == 0:
                print(f"{done}/{args.boots} boots, {failed} failed, {races} races recovered, "
                      f"{time.monotonic() - began:.0f} s", flush=True)
    by_smp = {}
    for spec in specs:
        by_smp[spec["smp"]] = by_smp.get(spec["smp"], 0) + 1
    print("harts: " + ", ".join(f"{smp}: {count}" for smp, count in sorted(by_smp.items())))
    print(f"soak: {args.boots} boots, {passed} passed, {failed} failed, {races} OpenSBI start races recovered, "
          f"{args.jobs} at once, {time.monotonic() - began:.0f} s, seed {seed}")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
