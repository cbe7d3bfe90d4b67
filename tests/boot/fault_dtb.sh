#!/bin/sh
# Writes QEMU virt's device tree for -smp 2 -m 512M with one fault, for the
# boot tests of issue 15 (booted with -dtb; QEMU 7.2 then rewrites only
# /chosen/bootargs, and only for -append, and the initrd properties only
# for -initrd, which these tests do not give).
#   fault_dtb.sh QEMU FDTPUT OUTPUT CASE
# CASE:
#   ghost-hart              a third cpu, reg 5, that the machine does not have
#   initrd-inverted         linux,initrd-end below linux,initrd-start
#   initrd-over-loader      an initrd over the loader image at 0x80200000
#                           (and over the kernel embedded in it)
#   initrd-over-device-tree an initrd over the top 2 MiB of RAM, where QEMU
#                           7.2 puts the tree (aligned down from RAM's end)
set -eu
qemu=$1
fdtput=$2
out=$3
case=$4
"$qemu" -machine virt,dumpdtb="$out" -smp 2 -m 512M -nographic -bios default >/dev/null
initrd() {
    "$fdtput" -t x "$out" /chosen linux,initrd-start 0 "$1"
    "$fdtput" -t x "$out" /chosen linux,initrd-end 0 "$2"
}
case $case in
ghost-hart)
    # Everything the loader needs to call it usable, as QEMU describes its
    # real harts; OpenSBI counts it too, since it reads the same tree.
    "$fdtput" -c "$out" /cpus/cpu@5
    "$fdtput" -t s "$out" /cpus/cpu@5 device_type cpu
    "$fdtput" -t x "$out" /cpus/cpu@5 reg 5
    "$fdtput" -t s "$out" /cpus/cpu@5 status okay
    "$fdtput" -t s "$out" /cpus/cpu@5 compatible riscv
    "$fdtput" -t s "$out" /cpus/cpu@5 riscv,isa rv64imafdch_zicsr_zifencei
    "$fdtput" -t s "$out" /cpus/cpu@5 mmu-type riscv,sv48
    ;;
initrd-inverted) initrd 0x88000000 0x87000000 ;;
initrd-over-loader) initrd 0x80200000 0x80400000 ;;
initrd-over-device-tree) initrd 0x9fe00000 0xa0000000 ;;
*)
    echo "fault_dtb.sh: unknown case $case" >&2
    exit 2
    ;;
esac
