/* Where the loader's instructions went, for bench/run.py: a record the
   loader fills as it boots, in its image's first page (image_header.S,
   after the headers), read back by the test kernel. Not part of the
   protocol: a kernel finds it only because the test kernel knows this
   loader (the LoaderReclaimable region holding its entry-fault sepc begins
   with the image). Counting costs a CSR read per phase and two per console
   line; printing the figures would cost more than they measure, hence
   memory.

   Every value is an instret difference (instructions only under QEMU
   -icount, where instret is a global clock; every hart's instructions while
   more than one runs). */
#pragma once

#define LOADER_STATS_OFFSET 0xc00
#define LOADER_STATS_MAGIC 0x3173746174737264 /* "drstats1", little-endian */

/* Phases, in boot order: each is the span since the previous one ended. */
#define LOADER_PHASE_DOOR 0    /* entry to the device tree read (EFI: boot services left too) */
#define LOADER_PHASE_SETUP 1   /* command line, hart slots, paging probe, entropy */
#define LOADER_PHASE_PLAN 2    /* make_plan: tables, kernel copy and relocation, BootInfo */
#define LOADER_PHASE_HARTS 3   /* first hart_start until every started hart arrived */
#define LOADER_PHASE_HANDOFF 4 /* handoff records, timestamps, up to the handoff */
#define LOADER_PHASE_COUNT 5

/* The plan phase's steps (loader_api::PlanStep, PlanStatistics::step_counts):
   inputs (ELF, LoaderConfig, RAM), layout (mode, KASLR, reservations), kernel
   (copy, .bss, relocations), stacks and TLS, page tables, BootInfo. */
#define LOADER_PLAN_STEP_COUNT 6

#ifndef __ASSEMBLER__
#include <stdint.h>

struct loader_stats {
    uint64_t magic;
    uint64_t entry_instret;               /* = BootInfo timestamps.loader_entry_instret */
    uint64_t phase[LOADER_PHASE_COUNT];   /* instructions in each phase, console included */
    uint64_t console;                     /* instructions inside console output, all phases */
    uint64_t console_chars;
    uint64_t firmware;                    /* inside EFI boot services calls (door phase) */
    uint64_t plan_step[LOADER_PLAN_STEP_COUNT]; /* the plan phase by step, console not included */
};
#endif
#define LOADER_STATS_SIZE (17 * 8)
