#!/usr/bin/env python3
"""compile_time.py -- CXX ARGS... [-- CC ARGS...]
Time of compiling (-fsyntax-only) a riscv64 translation unit that includes
one header, against one that includes only <cstdint> (C++) or <stdint.h>
(C). With a C compiler, loader_api.h is timed as C too. loader_api.h is
meant to cost a C or C++ kernel about what <stdint.h> costs: the run fails
when it takes more than 1.5 times as long.

The time is the compiler's CPU time (user + system, from wait4), not wall
time: the build machine is shared, and a busy neighbour stretches wall time
but not CPU time. Best of 5 runs; headers that compile in well under 200 ms
get 50 runs, in rounds (every such header once per round), so that a slow
moment hits them all alike: they are the ones compared with each other."""
import os
import subprocess
import sys
import tempfile

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


def cpu_time(compiler, source):
    process = subprocess.Popen(compiler + ["-fsyntax-only", source])
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(f"compile failed: {' '.join(compiler)} {source}")
    return usage.ru_utime + usage.ru_stime


results = {}
with tempfile.TemporaryDirectory() as scratch:
    sources = {}
    for index, (language, compiler, suffix, header) in enumerate(rows):
        sources[index] = os.path.join(scratch, f"tu{index}.{suffix}")
        with open(sources[index], "w") as file:
            file.write(f"#include <{header}>\n")
        results[(language, header)] = cpu_time(compiler, sources[index])
    cheap = [index for index, row in enumerate(rows) if results[(row[0], row[3])] < 0.2]
    for round_number in range(49):
        for index, (language, compiler, suffix, header) in enumerate(rows):
            if index in cheap or round_number < 4:
                results[(language, header)] = min(results[(language, header)], cpu_time(compiler, sources[index]))

problems = []
for language, compiler in (("C++", cxx), ("C", cc)):
    if not compiler:
        continue
    baseline = results[(language, "cstdint" if language == "C++" else "stdint.h")]
    print(f"{language} compiler: {compiler[0]}")
    for (row_language, header), seconds in results.items():
        if row_language == language:
            print(f"  {header:32} {seconds * 1000:7.1f} ms  (+{(seconds - baseline) * 1000:.1f} ms over "
                  f"{'<cstdint>' if language == 'C++' else '<stdint.h>'})")
    stdint = results[(language, "stdint.h")]
    ratio = results[(language, "loader_api/loader_api.h")] / stdint
    print(f"  loader_api.h / <stdint.h> as {language}: {ratio:.2f} (limit {LIMIT})")
    if ratio > LIMIT:
        problems.append(f"loader_api.h as {language} costs {ratio:.2f} times <stdint.h>, more than {LIMIT}")
for problem in problems:
    print("FAIL:", problem)
sys.exit(1 if problems else 0)
