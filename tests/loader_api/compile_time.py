#!/usr/bin/env python3
"""compile_time.py -- COMPILER ARGS...
Time of compiling (-fsyntax-only) a riscv64 translation unit that includes
one header, against one that includes only <cstdint>; best of 5 runs."""
import os
import subprocess
import sys
import tempfile
import time

compiler = sys.argv[sys.argv.index("--") + 1:]
headers = ["cstdint", "loader_api/boot_info.hpp", "loader_api/loader_config.hpp",
           "loader_api/validate.hpp", "loader_api/reflect.hpp"]
with tempfile.TemporaryDirectory() as scratch:
    results = {}
    for header in headers:
        source = os.path.join(scratch, "tu.cpp")
        with open(source, "w") as file:
            file.write(f"#include <{header}>\n")
        best = None
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run(compiler + ["-fsyntax-only", source], check=True)
            elapsed = time.perf_counter() - start
            best = elapsed if best is None else min(best, elapsed)
        results[header] = best
    baseline = results["cstdint"]
    print(f"compiler: {compiler[0]}")
    for header, seconds in results.items():
        print(f"  {header:32} {seconds * 1000:7.0f} ms  (+{(seconds - baseline) * 1000:.0f} ms over <cstdint>)")
