#!/usr/bin/env python3
"""check_compile_fail.py SOURCE -- COMPILER ARGS...
Compiles SOURCE with -DRIGHT (must succeed) and with each -DWRONG_* variant
(must fail with the LOADER_API_KERNEL message)."""
import subprocess
import sys

separator = sys.argv.index("--")
source = sys.argv[1]
compiler = sys.argv[separator + 1:]
message = "LOADER_API_KERNEL: the kernel entry must be declared as"
failures = []


def compile_with(define):
    command = compiler + ["-fsyntax-only", f"-D{define}", source]
    return subprocess.run(command, capture_output=True, text=True)


right = compile_with("RIGHT")
if right.returncode != 0:
    failures.append("the correct signature did not compile:\n" + right.stderr)
for variant in ["WRONG_POINTER", "WRONG_HART_TYPE", "WRONG_RETURN", "WRONG_ARITY", "WRONG_MUTABLE"]:
    result = compile_with(variant)
    if result.returncode == 0:
        failures.append(f"{variant}: compiled, but must not")
    elif message not in result.stderr:
        failures.append(f"{variant}: failed without the macro's message:\n{result.stderr}")
    else:
        print(f"{variant}: rejected as expected")
for failure in failures:
    print(failure)
sys.exit(1 if failures else 0)
