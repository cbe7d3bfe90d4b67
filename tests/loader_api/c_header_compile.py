#!/usr/bin/env python3
"""c_header_compile.py CASE... -- COMPILER ARGS...
Compiles (-fsyntax-only) one source per CASE with the given command.
CASE is ok:SOURCE[:DEFINE,...] (must compile without a diagnostic) or
fail:SOURCE[:DEFINE,...] (must be refused: the negative cases show that the
command really checks what the positive ones claim)."""
import subprocess
import sys

split = sys.argv.index("--")
cases, compiler = sys.argv[1:split], sys.argv[split + 1:]
problems = []
for case in cases:
    expect, source, *rest = case.split(":")
    defines = [f"-D{name}" for name in rest[0].split(",")] if rest and rest[0] else []
    command = compiler + defines + ["-fsyntax-only", source]
    result = subprocess.run(command, capture_output=True, text=True)
    compiled = result.returncode == 0 and not result.stderr.strip()
    print(f"{'compiles' if compiled else 'refused '}: {source} {' '.join(defines)}")
    if expect == "ok" and not compiled:
        problems.append(f"{case}: expected to compile cleanly:\n{result.stderr}")
    elif expect == "fail" and compiled:
        problems.append(f"{case}: expected a compile error, got none")
print(f"compiler: {' '.join(compiler)}")
for problem in problems:
    print("FAIL:", problem)
sys.exit(1 if problems else 0)
