#!/usr/bin/env python3
"""run.py MESON BUILD_DIR SCRATCH -- TARGET_CXX... -- TARGET_CC...

Installs the build into SCRATCH/destdir with `meson install --destdir`, checks
that the headers, the pkg-config files, LICENSE, the loader images and
loader-plan are where a distribution puts them, then builds consumers with
pkg-config alone (PKG_CONFIG_LIBDIR and PKG_CONFIG_SYSROOT_DIR pointed into
the destdir, nothing from the source tree):
  consumer.cpp      loader_api, by the riscv64 C++ compiler, no Boost; and with
                    -DCONSUMER_REFLECT, loader_api_reflect plus Boost.Hana
                    after the sysroot (and refused without them)
  consumer.c        loader_api.h, by the riscv64 C compiler
"""
import glob
import json
import os
import shutil
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))


def fail(message):
    sys.exit("install test: " + message)


def run(command, env=None):
    result = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        fail(f"`{' '.join(command)}` failed:\n{result.stdout}")
    return result.stdout


def main():
    first = sys.argv.index("--")
    second = sys.argv.index("--", first + 1)
    meson, build, scratch = sys.argv[1:first]
    cxx, cc = sys.argv[first + 1:second], sys.argv[second + 1:]
    shutil.rmtree(scratch, ignore_errors=True)
    destdir = os.path.join(scratch, "destdir")
    run([meson, "install", "-C", build, "--destdir", destdir, "--no-rebuild", "--quiet"])

    introspect = run([meson, "introspect", build, "--buildoptions"])
    options = {option["name"]: option["value"] for option in json.loads(introspect)}
    prefix = options["prefix"]
    root = destdir + prefix
    share = os.path.join(root, options["datadir"])
    expected = [
        os.path.join(root, options["includedir"], "loader_api", "boot_info.hpp"),
        os.path.join(root, options["includedir"], "loader_api", "audit.hpp"),
        os.path.join(root, options["includedir"], "loader_api", "elf", "reader.hpp"),
        os.path.join(root, options["includedir"], "loader_api", "loader_api.h"),
        os.path.join(root, options["includedir"], "loader_api", "fdt", "reader.hpp"),
        os.path.join(root, options["includedir"], "kmem", "page_table.hpp"),
        os.path.join(share, "pkgconfig", "loader_api.pc"),
        os.path.join(share, "pkgconfig", "loader_api_reflect.pc"),
        os.path.join(share, "doc", "riscv-boot", "LICENSE"),
        os.path.join(share, "riscv-boot", "loader-none.elf"),
        os.path.join(share, "riscv-boot", "loader-none.bin"),
        os.path.join(share, "riscv-boot", "loader-none.efi"),
        os.path.join(root, options["bindir"], "loader-plan"),
    ]
    missing = [path[len(destdir):] for path in expected if not os.path.isfile(path)]
    if missing:
        fail("not installed: " + ", ".join(missing))
    # Only what the project means to install: no test programs or kernels.
    stray = [path[len(destdir):] for path in glob.glob(os.path.join(destdir, "**", "*"), recursive=True)
             if os.path.isfile(path) and ("test" in os.path.basename(path) or "kernel" in os.path.basename(path))]
    if stray:
        fail("installed but not meant to be: " + ", ".join(stray[:5]))

    env = dict(os.environ, PKG_CONFIG_LIBDIR=os.path.join(share, "pkgconfig"), PKG_CONFIG_SYSROOT_DIR=destdir)
    env.pop("PKG_CONFIG_PATH", None)

    def flags(package):
        return run(["pkg-config", "--cflags", package], env).split()

    plain = flags("loader_api")
    if not any(flag.startswith("-I" + destdir) for flag in plain):
        fail("pkg-config loader_api gives no include directory in the destdir: " + " ".join(plain))
    common = ["-std=c++20", "-Wall", "-Wextra", "-Werror", "-O2", "-c"]
    out = os.path.join(scratch, "out")
    os.makedirs(out)
    run(cxx + common + plain + [os.path.join(here, "consumer.cpp"), "-o", os.path.join(out, "consumer.o")])
    # The same consumer with reflect.hpp must fail without Hana and build with it.
    source = os.path.join(here, "consumer.cpp")
    reflect = ["-DCONSUMER_REFLECT", source]
    without = subprocess.run(cxx + common + plain + reflect + ["-o", os.path.join(out, "x.o")],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if without.returncode == 0 or "boost/hana" not in without.stdout:
        fail("reflect.hpp compiled without Boost.Hana on the include path: the cross compiler sees /usr/include")
    run(cxx + common + flags("loader_api_reflect") + ["-idirafter", "/usr/include"] + reflect +
        ["-o", os.path.join(out, "consumer_reflect.o")])
    run(cc + ["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-c"] + plain +
        [os.path.join(here, "consumer.c"), "-o", os.path.join(out, "consumer_c.o")])
    print(f"installed into {destdir}; consumers built with pkg-config only: loader_api (no Boost), "
          "loader_api_reflect (Hana), loader_api.h (C)")


if __name__ == "__main__":
    main()
