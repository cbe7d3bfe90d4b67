#!/usr/bin/env python3
"""Boots an image in qemu-system-riscv64 (virt or --machine, OpenSBI) and judges the run.

By default OpenSBI starts the image given to -kernel. With --uboot, OpenSBI
starts U-Boot instead, and U-Boot's own distro boot finds the image (a raw
Image, loader-*.bin) on a virtio disk built for the run (boot_disk.py) and
starts it with booti, as on a board; with --uboot --efi the disk is an EFI
system partition and U-Boot starts the image as BOOTRISCV64.EFI.

The test passes when QEMU exits by itself within the time limit (or, with
--expect-hang, is still running then) with the expected status (the sifive,test device: 0 for pass, the failure code
otherwise), every --expect regex matches some console line, no --forbid regex
matches any, and with --harts N each hart 0..N-1 printed its hello exactly
once. On failure the whole console is printed after the reasons.

usage: qemu_boot.py --qemu QEMU --image loader.elf [options] [-- extra QEMU args]
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import boot_disk


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qemu", required=True, help="qemu-system-riscv64")
    parser.add_argument("--image", required=True, help="the ELF given to -kernel (with --uboot: the raw Image)")
    parser.add_argument("--machine", default="virt", help="QEMU machine (virt unless a board is the point)")
    parser.add_argument("--uboot", metavar="U_BOOT_BIN",
                        help="boot through this S-mode U-Boot: the image, --append and the initrd go into "
                             "extlinux.conf on a virtio disk")
    parser.add_argument("--text-offset", type=lambda text: int(text, 0),
                        help="with --uboot: rewrite the Image header's text_offset (where booti places it)")
    parser.add_argument("--append", help="the kernel command line (-append, or extlinux's append line)")
    parser.add_argument("--kernel-initrd", metavar="FILE",
                        help="pass FILE as the initrd without judging it (the kernel ELF for loader-none); with "
                             "--efi it is the kernel file beside the loader, /EFI/BOOT/kernel.elf")
    parser.add_argument("--efi", action="store_true",
                        help="with --uboot: boot the image as an EFI application; --append becomes the load "
                             "options, --initrd goes to /initrd.img (named by the load options); in a boot that "
                             "must pass, every range the loader keeps from the kernel (its 'EFI: kept' lines) must "
                             "be EfiRuntimeCode/EfiRuntimeData (runtime services) or Reserved in the kernel's memory map")
    parser.add_argument("--file", action="append", default=[], metavar="DISK_PATH=FILE",
                        help="with --efi: one more file on the EFI system partition")
    parser.add_argument("--drop-rng-seed", action="store_true",
                        help="with --efi: U-Boot removes /chosen/rng-seed before it starts the loader")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds before QEMU is killed")
    parser.add_argument("--exit-code", type=int, default=0, help="QEMU's expected exit status")
    parser.add_argument("--expect-hang", action="store_true",
                        help="QEMU must still run at --timeout (every hart parked: the machine cannot power "
                             "off); it is killed then and its exit status is not judged")
    parser.add_argument("--expect", action="append", default=[], metavar="REGEX",
                        help="must match at least one console line")
    parser.add_argument("--forbid", action="append", default=[], metavar="REGEX",
                        help="must match no console line")
    parser.add_argument("--harts", type=int, default=0,
                        help="harts 0..N-1 must each print 'hello from hart K' once")
    parser.add_argument("--hello", default=r"^(?:hello from hart (\d+)|hart (\d+): entry, BootInfo, .* ok)$",
                        help="regex whose first matching group is the hart id of a hello line "
                             "(default: the example kernel's and the test kernel's)")
    parser.add_argument("--initrd", metavar="FILE",
                        help="pass FILE as -initrd and expect the test kernel to report its size and FNV-1a hash")
    parser.add_argument("--differ", metavar="REGEX",
                        help="boot twice; group 1 of REGEX must match in both consoles and differ (KASLR)")
    parser.add_argument("--same", metavar="REGEX",
                        help="boot twice; group 1 of REGEX must match in both consoles and be equal (no KASLR)")
    parser.add_argument("--sparse-ram", metavar="SIZE",
                        help="RAM of SIZE (QEMU syntax, e.g. 260G) backed by a sparse file, so that a machine "
                             "with more RAM than the host boots; only pages the guest writes take space")
    parser.add_argument("qemu_args", nargs="*", help="after --: -smp, -m, -numa, -append, -initrd, -icount ...")
    return parser.parse_args(argv)


def fnv1a64(data):
    value = 0xcbf29ce484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001b3) & 0xffffffffffffffff
    return value


def boot_command(args, scratch):
    initrd = args.initrd or args.kernel_initrd
    command = [args.qemu, "-machine", args.machine, "-nographic", "-bios", "default"]
    if args.sparse_ram:
        backing = os.path.join(scratch, "ram.img")
        command[2] = args.machine + ",memory-backend=sparse-ram"
        command += ["-object", f"memory-backend-file,id=sparse-ram,size={args.sparse_ram},mem-path={backing},share=on",
                    "-m", args.sparse_ram]
    if args.uboot:
        disk = os.path.join(scratch, "disk.img")
        if args.efi:
            files = dict(item.split("=", 1) for item in args.file)
            load_options = args.append
            if args.kernel_initrd:
                files["/EFI/BOOT/kernel.elf"] = args.kernel_initrd
            if args.initrd:
                files["/initrd.img"] = args.initrd
                load_options = "initrd=\\initrd.img" + ("" if load_options is None else " " + load_options)
            boot_disk.build(disk, args.image, None, load_options, None, efi=True, files=files,
                            drop_rng_seed=args.drop_rng_seed)
        else:
            boot_disk.build(disk, args.image, initrd, args.append, args.text_offset)
        command += ["-kernel", args.uboot, "-drive", f"file={disk},format=raw,if=none,id=boot",
                    "-device", "virtio-blk-device,drive=boot"]
    else:
        command += ["-kernel", args.image]
        if initrd:
            command += ["-initrd", initrd]
        if args.append is not None:
            command += ["-append", args.append]
    return command + args.qemu_args


def run(args, command):
    started = time.monotonic()
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    timed_out = False
    try:
        output, _ = process.communicate(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        process.kill()
        output, _ = process.communicate()
    elapsed = time.monotonic() - started
    console = output.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    return process.returncode, timed_out, elapsed, console


def judge(args, returncode, timed_out, console):
    problems = []
    lines = console.split("\n")
    if args.expect_hang:
        if not timed_out:
            problems.append(f"QEMU exited (status {returncode}) although the machine had no way to power off")
    elif timed_out:
        problems.append(f"timeout: QEMU still running after {args.timeout:g} s (killed)")
    elif returncode != args.exit_code:
        problems.append(f"QEMU exit status {returncode}, expected {args.exit_code}")
    for pattern in args.expect:
        regex = re.compile(pattern)
        if not any(regex.search(line) for line in lines):
            problems.append(f"no console line matches {pattern!r}")
    for pattern in args.forbid:
        regex = re.compile(pattern)
        hits = [line for line in lines if regex.search(line)]
        if hits:
            problems.append(f"forbidden {pattern!r} matches: {hits[0]!r}")
    # The loader names the ranges it keeps at info level; at its default
    # level (no loader.log= in the load options) there is nothing to check.
    if args.efi and args.exit_code == 0 and re.search(r"\bloader\.log=(info|debug)\b", args.append or ""):
        problems += efi_reservations_kept(lines)
    if args.harts:
        hello = re.compile(args.hello)
        seen = {}
        for line in lines:
            match = hello.search(line)
            if match:
                hart = int(next(group for group in match.groups() if group is not None))
                seen[hart] = seen.get(hart, 0) + 1
        missing = [h for h in range(args.harts) if h not in seen]
        repeated = [h for h, n in sorted(seen.items()) if n > 1]
        unexpected = [h for h in sorted(seen) if h >= args.harts]
        if missing:
            problems.append(f"no hello from harts {missing}")
        if repeated:
            problems.append(f"more than one hello from harts {repeated}")
        if unexpected:
            problems.append(f"hello from harts that should not exist: {unexpected}")
    return problems


KEPT = re.compile(r"^loader: EFI: kept \[(0x[0-9a-f]+), (0x[0-9a-f]+)\) (.+)$")
KEPT_REGION = re.compile(r"^region (Reserved|EfiRuntimeCode|EfiRuntimeData) \[(0x[0-9a-f]+), (0x[0-9a-f]+)\)$")
# The kind the kernel must see for each firmware memory type the loader kept.
KEPT_KIND = {"EFI runtime services code": "EfiRuntimeCode", "EFI runtime services data": "EfiRuntimeData"}


def efi_reservations_kept(lines):
    """Every range the loader kept from the firmware's memory map lies in the
    kernel's memory map as EfiRuntimeCode/EfiRuntimeData (runtime services,
    protocol 1.1) or Reserved (everything else)."""
    kept = [(int(m.group(1), 16), int(m.group(2), 16), m.group(3)) for m in map(KEPT.search, lines) if m]
    regions = sorted((int(m.group(2), 16), int(m.group(3), 16), m.group(1))
                     for m in map(KEPT_REGION.search, lines) if m)
    problems = []
    for kind in KEPT_KIND:
        if not any(name == kind for _, _, name in kept):
            problems.append(f"the loader kept no {kind} region (no 'EFI: kept' line names one)")
    for begin, end, name in kept:
        want = KEPT_KIND.get(name, "Reserved")
        cursor = begin
        for region_begin, region_end, kind in regions:
            if kind == want and region_begin <= cursor < region_end:
                cursor = region_end
        if cursor < end:
            problems.append(f"{name} [{begin:#x}, {end:#x}) is not {want} in the kernel's memory map "
                            f"(from {cursor:#x})")
    return problems


def main(argv):
    args = parse_args(argv)
    if args.initrd:
        with open(args.initrd, "rb") as file:
            data = file.read()
        # The bytes the kernel finds must be the file's, byte for byte.
        args.expect.append(rf"^initrd: {len(data)} bytes fnv1a64 {fnv1a64(data):#x}$")
    with tempfile.TemporaryDirectory() as scratch:
        return boot_and_judge(args, boot_command(args, scratch))


def boot_and_judge(args, command):
    returncode, timed_out, elapsed, console = run(args, command)
    problems = judge(args, returncode, timed_out, console)
    compare = args.differ or args.same
    if compare and not problems:
        returncode2, timed_out2, _, console2 = run(args, command)
        problems = [f"second boot: {p}" for p in judge(args, returncode2, timed_out2, console2)]
        regex = re.compile(compare, re.MULTILINE)
        first, second = regex.search(console), regex.search(console2)
        if not first or not second:
            problems.append(f"{compare!r} does not match both consoles")
        elif (first.group(1) == second.group(1)) != bool(args.same):
            relation = "differ" if args.same else "agree"
            problems.append(f"the two boots {relation} on {compare!r}: {first.group(1)!r}, {second.group(1)!r}")
        else:
            print(f"boot 1: {first.group(1)}, boot 2: {second.group(1)}")
    summary = "timeout" if timed_out else f"exit {returncode}"
    print(f"$ {' '.join(command)}")
    print(f"({summary} after {elapsed:.1f} s)")
    if problems:
        for problem in problems:
            print(f"FAIL: {problem}")
        print("---- console ----")
        print(console.rstrip("\n"))
        print("---- end of console ----")
        return 1
    # The loader's own lines, so a passing log still shows what happened.
    for line in console.split("\n"):
        if line.startswith(("loader:", "done:", "PASS", "reserved:", "region ", "cmdline:", "Moving Image", "Found ",
                            "Booting ")):
            print(line)
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
