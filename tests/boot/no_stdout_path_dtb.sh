#!/bin/sh
# Writes QEMU virt's device tree for -smp 1 -m 512M without
# /chosen/stdout-path: the loader then has no UART to write to and keeps the
# SBI console.
#   no_stdout_path_dtb.sh QEMU FDTPUT OUTPUT
set -eu
qemu=$1
fdtput=$2
out=$3
"$qemu" -machine virt,dumpdtb="$out" -smp 1 -m 512M -nographic -bios default >/dev/null
"$fdtput" -d "$out" /chosen stdout-path
