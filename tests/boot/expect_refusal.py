#!/usr/bin/env python3
"""check_image.py must refuse the loader linked with bad_absolute.S, naming
the word, its section and symbol, its two values and why.

usage: expect_refusal.py check_image.py IMAGE.elf MOVED.elf
"""

import re
import subprocess
import sys

EXPECTED = [
    r"check_image\.py: \S+loader-bad-absolute-0\.elf is not position independent:",
    # lld stores the value and leaves it; GNU ld makes it a 64-bit R_RISCV_RELATIVE
    # (for a 32-bit word) whose addend does not follow the image.
    r"  image offset 0x[0-9a-f]+, \.data\+0x[0-9a-f]+, (loader_bad_absolute_word|\$d)\+0x0: bytes 00002000\w{8} "
    r"depend on the link address \(0x80200000 here, 0x1234567000 in the second link\) and no relocation "
    r"rewrites them at run time"
    r"|  the relocation at image offset 0x[0-9a-f]+, \.data\+0x[0-9a-f]+, loader_bad_absolute_word\+0x0 writes "
    r"0x200000 here and 0x34567000 in the second link: not an address in the image \(an absolute symbol\?\)",
]


def main(argv):
    checker, image, moved = argv
    result = subprocess.run([sys.executable, checker, image, moved], capture_output=True, text=True)
    lines = result.stderr.splitlines()
    problems = []
    if result.returncode != 1:
        problems.append(f"exit status {result.returncode}, expected 1")
    if len(lines) != len(EXPECTED) or not all(re.fullmatch(p, line) for p, line in zip(EXPECTED, lines)):
        problems.append("the report is not the one expected:\n" + "\n".join(EXPECTED))
    print(result.stderr, end="")
    for problem in problems:
        print(f"FAIL: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
