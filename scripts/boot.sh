#!/bin/sh
# Boots the reference loader in QEMU virt under OpenSBI:
#   scripts/boot.sh [build-dir] [extra QEMU arguments...]
# e.g. scripts/boot.sh build/clang -smp 8 -append "loader.log=debug"
# QEMU exits by itself when the loader or the kernel stops the machine
# (status 0 for success); Ctrl-A X quits it by hand.
set -eu
build=${1:-build/gcc}; [ $# -gt 0 ] && shift
loader="$build/examples/reference_loader/loader.elf"
if [ ! -f "$loader" ]; then
    echo "no loader at $loader: build it first (meson compile -C $build)" >&2
    exit 1
fi
exec qemu-system-riscv64 -machine virt -nographic -bios default -smp 4 -m 2G -kernel "$loader" "$@"
