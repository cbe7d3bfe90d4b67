#!/usr/bin/env python3
"""run.py MESON SOURCE_ROOT SCRATCH CROSS_FILE
Copies the consumer project to SCRATCH, links SOURCE_ROOT in as
subprojects/riscv-boot, then meson setup + compile for riscv64."""
import os
import shutil
import subprocess
import sys

meson, source_root, scratch, cross_file = sys.argv[1:5]
here = os.path.dirname(os.path.abspath(__file__))
shutil.rmtree(scratch, ignore_errors=True)
os.makedirs(os.path.join(scratch, "project", "subprojects"))
for name in ["meson.build", "kernel.cpp"]:
    shutil.copy(os.path.join(here, name), os.path.join(scratch, "project", name))
os.symlink(os.path.abspath(source_root), os.path.join(scratch, "project", "subprojects", "riscv-boot"))
build = os.path.join(scratch, "build")
subprocess.run([meson, "setup", build, os.path.join(scratch, "project"), "--cross-file", cross_file], check=True)
subprocess.run([meson, "compile", "-C", build, "-j", "1"], check=True)
kernel = os.path.join(build, "consumer_kernel")
if not os.path.isfile(kernel):
    sys.exit("consumer_kernel was not built")
print("built", kernel)
