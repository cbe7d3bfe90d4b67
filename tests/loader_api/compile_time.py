#!/usr/bin/env python3
"""compile_time.py -- CXX ARGS... [-- CC ARGS...]
Time of compiling (-fsyntax-only) a riscv64 translation unit that includes
one header, against one that includes only <cstdint> (C++) or <stdint.h>
(C); best of 5 runs. With a C compiler, loader_api.h is timed as C too.
loader_api.h is meant to cost a C or C++ kernel about what <stdint.h> costs:
the run fails when it takes more than 1.5 times as long."""
import os
import subprocess
import sys
import tempfile
import time

LIMIT = 1.5
separators = [i for i, arg in enumerate(sys.argv) if arg == "--"]
cxx = sys.argv[separators[0] + 1:separators[1] if len(separators) > 1 else None]
cc = sys.argv[separators[1] + 1:] if len(separators) > 1 else []

# (label, compiler, suffix, header)
rows = [("C++", cxx, "cpp", "cstdint"), ("C++", cxx, "cpp", "stdint.h"), ("C++", cxx, "cpp", "loader_api/loader_api.h"),
        ("C++", cxx, "cpp", "loader_api/boot_info.hpp"), ("C++", cxx, "cpp", "loader_api/loader_config.hpp"),
        ("C++", cxx, "cpp", "loader_api/validate.hpp"), ("C++", cxx, "cpp", "loader_api/reflect.hpp")]
if cc:
    rows += [("C", cc, "c", "stdint.h"), ("C", cc, "c", "loader_api/loader_api.h")]


def best_time(compiler, source):
    best = None
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run(compiler + ["-fsyntax-only", source], check=True)
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best


results = {}
with tempfile.TemporaryDirectory() as scratch:
    for language, compiler, suffix, header in rows:
        source = os.path.join(scratch, f"tu.{suffix}")
        with open(source, "w") as file:
            file.write(f"#include <{header}>\n")
        results[(language, header)] = best_time(compiler, source)

problems = []
for language, compiler in (("C++", cxx), ("C", cc)):
    if not compiler:
        continue
    baseline = results[(language, "cstdint" if language == "C++" else "stdint.h")]
    print(f"{language} compiler: {compiler[0]}")
    for (row_language, header), seconds in results.items():
        if row_language == language:
            print(f"  {header:32} {seconds * 1000:7.0f} ms  (+{(seconds - baseline) * 1000:.0f} ms over "
                  f"{'<cstdint>' if language == 'C++' else '<stdint.h>'})")
    stdint = results[(language, "stdint.h")]
    ratio = results[(language, "loader_api/loader_api.h")] / stdint
    print(f"  loader_api.h / <stdint.h> as {language}: {ratio:.2f} (limit {LIMIT})")
    if ratio > LIMIT:
        problems.append(f"loader_api.h as {language} costs {ratio:.2f} times <stdint.h>, more than {LIMIT}")
for problem in problems:
    print("FAIL:", problem)
sys.exit(1 if problems else 0)
