#!/usr/bin/env python3
"""Runs the JSON dumper and checks its output parses and carries the values
that sample_boot_info.hpp wrote (repeated here, not taken from the C++)."""
import json
import subprocess
import sys

text = subprocess.run([sys.argv[1]], check=True, capture_output=True, text=True).stdout
document = json.loads(text)
info = document["boot_info"]
failures = []


def expect(what, got, wanted):
    if got != wanted:
        failures.append(f"{what}: got {got!r}, expected {wanted!r}")


expect("magic", info["header"]["magic"], int.from_bytes(b"BOOTINFO", "little"))
expect("boot hart", info["boot_hart_id"], 5)
expect("paging mode", info["paging_mode"], "Sv48")
expect("physmap", info["physmap"], {"begin": 0xffff800080000000, "end": 0xffff800090000000})
expect("hart ids", [h["hart_id"] for h in info["harts_entries"]], [0, 5, 9])
expect("hart states", [h["state"] for h in info["harts_entries"]], ["Started", "Started", "Failed"])
expect("sbi error", info["harts_entries"][2]["sbi_error"], -3)
expect("region count", len(info["memory_regions_entries"]), 13)
expect("first region", info["memory_regions_entries"][0],
       {"range": {"begin": 0x80000000, "end": 0x80100000}, "kind": "Reserved", "reserved": 0})
expect("segments", len(info["kernel_segments_entries"]), 2)
expect("command line", info["command_line_text"], "console=ttyS0 quiet")
expect("random", info["random"], [(i * 7 + 1) & 0xff for i in range(32)])
expect("timestamps", info["timestamps"],
       {"loader_entry_time": 1000, "loader_entry_instret": 2000, "handoff_time": 5000, "handoff_instret": 90000})
config = document["loader_config"]
expect("config magic", config["magic"], int.from_bytes(b"LDRCONFG", "little"))
expect("config stack", config["stack_size"], 64 * 1024)
expect("config harts", config["start_harts"], "All")

for failure in failures:
    print(failure)
sys.exit(1 if failures else 0)
