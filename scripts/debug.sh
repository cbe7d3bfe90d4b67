#!/bin/sh
# Boots loader.elf in QEMU virt halted, waiting for gdb, and starts
# gdb-multiarch with the loader's and the kernel's symbols, stopped at the
# kernel's entry:
#   scripts/debug.sh [build-dir] [extra QEMU arguments...]
# The loader runs at its link address (OpenSBI jumps to 0x80200000), so its
# symbols load as linked. The kernel's need its slide: gdb runs the loader to
# its handoff and reads the slide from the loader's console line
# (scripts/debug_gdb.py). loader.kaslr=off keeps that slide the same from
# boot to boot (a PIE still moves to the higher half). QEMU's console goes to
# <build-dir>/debug-console.log (tail -f it in another terminal), so that it
# does not mix with gdb's. Quitting gdb stops QEMU.
# DEBUG_KERNEL=FILE: see below. DEBUG_BATCH=1 runs gdb without a prompt: it prints where it stopped and
# exits (the test of this script, tests/boot/meson.build).
set -eu
build=${1:-build/gcc}; [ $# -gt 0 ] && shift
dir="$build/examples/reference_loader"
# DEBUG_KERNEL=FILE debugs your own kernel ELF instead: the loader without a
# kernel of its own boots it from the initrd.
if [ -n "${DEBUG_KERNEL:-}" ]; then
    loader="$dir/loader-none.elf" kernel=$DEBUG_KERNEL
    set -- -initrd "$kernel" "$@"
else
    loader="$dir/loader.elf" kernel="$dir/loader-kernel.elf"
fi
for file in "$loader" "$kernel"; do
    if [ ! -f "$file" ]; then
        echo "debug: no $file: build it first (meson compile -C $build examples/reference_loader/loader.elf" \
             "examples/reference_loader/loader-kernel.elf), with -Dloader_kernel other than none" >&2
        exit 1
    fi
done
gdb=$(command -v gdb-multiarch || true)
if [ -z "$gdb" ]; then
    echo "debug: gdb-multiarch is missing (Debian: apt-get install gdb-multiarch; ./dev.sh deps installs it)" >&2
    exit 1
fi
port=${DEBUG_PORT:-1234}
console="$build/debug-console.log"

qemu-system-riscv64 -machine virt -display none -serial "file:$console" -monitor none -bios default \
    -smp 4 -m 2G -kernel "$loader" -append "loader.kaslr=off loader.log=info" -S -gdb "tcp:127.0.0.1:$port" "$@" &
qemu=$!
trap 'kill $qemu 2>/dev/null || true' EXIT INT TERM
echo "QEMU (pid $qemu) waits for gdb on port $port; its console: $console"
set -- -q -nx -ex "set architecture riscv:rv64" -ex "set pagination off" -ex "set confirm off" \
    -ex "file $loader" -ex "set \$debug_kernel = \"$kernel\"" -ex "set \$debug_console = \"$console\"" \
    -ex "target remote 127.0.0.1:$port" -x "$(dirname "$0")/debug_gdb.py"
if [ "${DEBUG_BATCH:-0}" = 1 ]; then
    "$gdb" -batch "$@" -ex "info symbol \$pc" -ex "print/x \$a0" -ex "kill" </dev/null
else
    "$gdb" "$@"
fi
