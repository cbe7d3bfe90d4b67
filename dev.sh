#!/bin/sh
# The project's one entry point:
#   ./dev.sh run     install what is missing, build, boot the example kernel in QEMU
#   ./dev.sh check   install what is missing, build with GCC and clang, run every test
#   ./dev.sh bench   build and print the benchmark figures
#   ./dev.sh debug   build, boot the example kernel in QEMU halted, and debug it in gdb-multiarch
#   ./dev.sh deps    only install (or print how to install) the Debian packages
set -eu
cd "$(dirname "$0")"

packages="meson ninja-build g++ make libboost-dev doctest-dev device-tree-compiler libfdt-dev
  qemu-system-misc g++-riscv64-linux-gnu binutils-riscv64-linux-gnu libc6-riscv64-cross
  clang-19 lld-19 llvm-19 libclang-rt-19-dev valgrind u-boot-qemu mtools fdisk gdb-multiarch"

deps() {
    missing=""
    for package in $packages; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing="$missing $package"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "Missing Debian packages. Install them with:" >&2
        echo "  sudo apt-get update && sudo apt-get install -y$missing" >&2
        exit 1
    fi
    echo "Installing:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# build/gcc: riscv64-linux-gnu-g++ for target code, g++ for the host side.
# build/clang: clang-19 + lld-19 for both.
configure() {
    flavour=$1; shift
    if [ ! -f "build/$flavour/build.ninja" ]; then
        meson setup "build/$flavour" \
            --cross-file "cross/riscv64-$flavour.ini" \
            --native-file "cross/native-$flavour.ini" "$@" >/dev/null
    fi
}

command=${1:-run}
case "$command" in
    deps)
        deps ;;
    run)
        deps
        configure gcc
        # Only the loader image and the kernel inside it, not every test.
        meson compile -C build/gcc examples/reference_loader/loader.elf
        exec scripts/boot.sh build/gcc ;;
    check)
        deps
        configure gcc
        configure clang
        status=0
        meson test -C build/gcc --print-errorlogs --num-processes 2 || status=1
        meson test -C build/clang --print-errorlogs --num-processes 2 || status=1
        exit $status ;;
    bench)
        deps
        configure gcc
        exec scripts/bench.sh build/gcc ;;
    debug)
        deps
        configure gcc
        meson compile -C build/gcc examples/reference_loader/loader.elf examples/reference_loader/loader-kernel.elf \
            examples/reference_loader/loader-none.elf
        shift
        exec scripts/debug.sh build/gcc "$@" ;;
    *)
        echo "usage: ./dev.sh run|check|bench|debug|deps" >&2
        exit 2 ;;
esac
