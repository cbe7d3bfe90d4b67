/* Offsets shared by entry.S and handoff.hpp (which static_asserts them against
   the C++ structs): HandoffRecord and the per-hart slot the trampoline gets. */
#pragma once

#define HANDOFF_SATP 0
#define HANDOFF_SP 8
#define HANDOFF_TP 16
#define HANDOFF_ENTRY 24
#define HANDOFF_A0 32
#define HANDOFF_A1 40
#define HANDOFF_STATE 48
#define HANDOFF_SIZE 56

/* HandoffRecord.state */
#define HANDOFF_STATE_WAIT 0
#define HANDOFF_STATE_GO 1
#define HANDOFF_STATE_PARK 2

/* HartSlot: the record first, then what the trampoline needs. */
#define SLOT_RECORD 0
#define SLOT_STACK_TOP 56
#define SLOT_SIZE 128

/* The word just below each loader stack's top holds the hart id (the trap
   handler reads it through sscratch); the stack proper starts 16 bytes down. */
#define STACK_HART_ID (-8)
#define STACK_RESERVED 16

/* Trap frame: x1..x31 at 8 * n, then the CSRs. */
#define FRAME_SEPC (32 * 8)
#define FRAME_SCAUSE (33 * 8)
#define FRAME_STVAL (34 * 8)
#define FRAME_SSTATUS (35 * 8)
#define FRAME_SATP (36 * 8)
#define FRAME_SIZE (38 * 8)

/* The boot hart's loader stack, reserved in the image without being stored
   or cleared. Every other hart runs its few loader instructions (the
   trampoline, a trap report) on the top of the kernel stack the plan gave
   it: the kernel starts with sp at that top and owes nothing below it, and
   the image need not hold a stack for every hart a machine may have. */
/* Measured high-water mark (a painted stack, session 5): 35 KiB with gcc -O2,
   EFI door included; the rest is margin for error paths and other compilers. */
#define BOOT_STACK_SIZE (64 * 1024)
