#!/bin/sh
# Boots the reference loader (with its embedded kernel) in QEMU virt.
set -eu
build=${1:-build/gcc}; shift || true
loader="$build/examples/reference_loader/loader.elf"
if [ ! -f "$loader" ]; then
    echo "The reference loader is not written yet (issue 6): built and tested what exists; nothing to boot." >&2
    exit 0
fi
exec qemu-system-riscv64 -machine virt -nographic -bios default -smp 4 -m 2G -kernel "$loader" "$@"
