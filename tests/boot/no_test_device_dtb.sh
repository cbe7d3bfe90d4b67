#!/bin/sh
# Writes QEMU virt's device tree for -smp 2 -m 512M without the sifive,test
# device and the syscon poweroff/reboot nodes that point at it: a machine on
# which the loader can stop neither through the device nor through SBI
# (OpenSBI 1.1 then has no reset driver and no SRST extension).
#   no_test_device_dtb.sh QEMU FDTPUT OUTPUT
set -eu
qemu=$1
fdtput=$2
out=$3
"$qemu" -machine virt,dumpdtb="$out" -smp 2 -m 512M -nographic -bios default >/dev/null
# QEMU 7.2's node names; fdtput fails loudly if a later QEMU renames them.
"$fdtput" -r "$out" /poweroff /reboot /soc/test@100000
