#!/usr/bin/env python3
"""Seeds for fuzz_plan.cpp: each a 6-byte header, a device tree, a kernel ELF.

make_fuzz_seeds.py STRIP OUTDIR LIST KERNEL... -- DTB...  (a DTB may be a directory of them)

Kernels are stripped first (section headers stay, .loader_config with them),
so that mutations land on the bytes the planner reads rather than on debug
information. Every tree is paired with one kernel in turn, and every kernel
with QEMU virt's two-hart tree, under headers that vary the options. LIST is
written last with one seed path per line, as the build's output.
"""
import os
import struct
import subprocess
import sys
import tempfile


def main():
    strip, outdir, listing = sys.argv[1:4]
    separator = sys.argv.index("--")
    kernel_paths, dtb_paths = sys.argv[4:separator], sys.argv[separator + 1:]
    kernels = []
    with tempfile.TemporaryDirectory() as scratch:
        for index, path in enumerate(kernel_paths):
            stripped = os.path.join(scratch, f"kernel{index}")
            subprocess.run([strip, "-o", stripped, path], check=True)
            with open(stripped, "rb") as f:
                kernels.append(f.read())
    dtbs = []
    for path in dtb_paths:
        files = sorted(os.path.join(path, name) for name in os.listdir(path)) if os.path.isdir(path) else [path]
        for file in files:
            with open(file, "rb") as f:
                dtbs.append((os.path.basename(file), f.read()))
    os.makedirs(outdir, exist_ok=True)
    for old in os.listdir(outdir):
        os.remove(os.path.join(outdir, old))
    # flags, entropy byte, config byte, modes byte (see fuzz_plan.cpp)
    headers = [(0, 0, 0, 0), (1 | 2, 7, 0, 0), (4, 0, 0b10_10_01_01, 0), (1 | 4 | 8, 3, 0b01_00_10_00, 0b011),
               (32, 0, 0, 0b01000)]
    seeds = []
    for index, (name, dtb) in enumerate(dtbs):
        seeds.append((f"{name}-k{index % len(kernels)}", dtb, kernels[index % len(kernels)], headers[index % len(headers)]))
    two_harts = next((dtb for name, dtb in dtbs if name == "virt-smp2.dtb"), dtbs[0][1])
    for index, kernel in enumerate(kernels):
        for variant, header in enumerate(headers):
            seeds.append((f"virt-smp2-k{index}-h{variant}", two_harts, kernel, header))
    paths = []
    for name, dtb, kernel, header in seeds:
        if len(dtb) > 0xffff:
            sys.exit(f"{name}: a device tree of {len(dtb)} bytes does not fit the seed's 16-bit size")
        path = os.path.join(outdir, name)
        with open(path, "wb") as f:
            f.write(bytes(header) + struct.pack("<H", len(dtb)) + dtb + kernel)
        paths.append(path)
    with open(listing, "w") as f:
        f.write("\n".join(paths) + "\n")


if __name__ == "__main__":
    main()
