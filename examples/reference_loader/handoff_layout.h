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

/* Loader stacks (not the kernel's): the boot hart's, and one per other hart
   for the trampoline and the trap handler. The image reserves them without
   storing or clearing them. */
/* read_machine_info() assigns a MachineInfo{} temporary (about 110 KiB) on
   the stack; 16 KiB suffice for everything else. */
#define BOOT_STACK_SIZE (160 * 1024)
#define HART_STACK_SIZE 2048
/* QEMU virt's maximum hart count (VIRT_CPUS_MAX); more harts than this are
   reported as not started. */
#define MAX_HARTS 512
