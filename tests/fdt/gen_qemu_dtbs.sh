#!/bin/sh
# Dumps the device trees QEMU builds for its RISC-V machines, in many
# configurations, for the differential test and as fuzzing seeds.
#   gen_qemu_dtbs.sh QEMU DTC OUTDIR LIST
# Writes OUTDIR/raw/NAME.dtb (as QEMU dumps them, padded to 1 MiB),
# OUTDIR/seeds/NAME.dtb (the same trees repacked small by dtc) and LIST, one
# raw path a line. A machine that cannot dump is skipped with the reason.
set -eu
qemu=$1 dtc=$2 out=$3 list=$4
rm -rf "$out"
mkdir -p "$out/raw" "$out/seeds"
: > "$list.tmp"

# A kernel and an initrd make QEMU write bootargs and linux,initrd-* into
# /chosen; their contents do not matter because the machine never runs.
head -c 8192 /dev/zero > "$out/kernel.bin"
head -c 1000 /dev/zero > "$out/initrd.bin"

dump() {
    name=$1 machine=$2; shift 2
    file="$out/raw/$name.dtb"
    if timeout 20 "$qemu" -machine "$machine,dumpdtb=$file" -nographic -display none "$@" > "$out/$name.log" 2>&1 \
        && [ -s "$file" ]; then
        "$dtc" -q -I dtb -O dtb -o "$out/seeds/$name.dtb" "$file"
        echo "$file" >> "$list.tmp"
    else
        echo "skipped $name ($machine $*): $(grep -v '^$' "$out/$name.log" | tail -n 1)"
        rm -f "$file"
    fi
}

for smp in 1 2 3 4 5 6 7 8; do dump "virt-smp$smp" virt -smp "$smp"; done
for mem in 64M 256M 1G 3G 4G 8G 16G; do dump "virt-m$mem" virt -smp 2 -m "$mem"; done
dump virt-numa2 virt -smp 2 -m 2G -numa node,cpus=0,mem=1G -numa node,cpus=1,mem=1G
dump virt-numa2-uneven virt -smp 4 -m 4G -numa node,cpus=0-1,mem=1G -numa node,cpus=2-3,mem=3G
dump virt-aia virt,aia=aplic-imsic -smp 4
dump virt-initrd virt -smp 2 -kernel "$out/kernel.bin" -initrd "$out/initrd.bin" \
    -append 'console=ttyS0 root="/dev/vda" quiet \path'
for smp in 2 3 4; do dump "sifive_u-smp$smp" sifive_u -smp "$smp" -m 1G; done
for smp in 1 2 4; do dump "spike-smp$smp" spike -smp "$smp"; done
dump spike-m2G spike -smp 1 -m 2G
dump microchip-icicle-kit microchip-icicle-kit -smp 5 -m 2G

mv "$list.tmp" "$list"
