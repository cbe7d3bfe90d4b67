# gdb (Python) part of scripts/debug.sh: run the loader to its handoff, read
# the kernel's slide from the loader's console line, load the kernel's
# symbols where the kernel will run, and stop at its entry.
#   gdb -x scripts/debug_gdb.py, with $debug_kernel and $debug_console set
import re

import gdb

kernel = gdb.convenience_variable("debug_kernel").string()
console = gdb.convenience_variable("debug_console").string()
SLIDE = re.compile(r"^loader: kernel: \[0x[0-9a-f]+, 0x[0-9a-f]+\) entry (0x[0-9a-f]+), (?:KASLR )?slide (0x[0-9a-f]+)")

# Every hart reaches loader_handoff; the boot hart's line is printed by then.
handoff = gdb.Breakpoint("loader_handoff", type=gdb.BP_HARDWARE_BREAKPOINT)
gdb.execute("continue")
handoff.delete()
entry = slide = None
with open(console, errors="replace") as f:
    for line in f:
        match = SLIDE.match(line)
        if match:
            entry, slide = int(match.group(1), 16), int(match.group(2), 16)
if entry is None:
    raise gdb.GdbError(f"debug: no 'loader: kernel: ...' line in {console}: is the loader at loader.log=info?")
gdb.execute(f"add-symbol-file {kernel} -o {slide:#x}")
gdb.Breakpoint(f"*{entry:#x}", type=gdb.BP_HARDWARE_BREAKPOINT, temporary=True)
gdb.execute("continue")
print(f"debug: the kernel's entry {entry:#x} (slide {slide:#x}); its symbols are loaded there")
