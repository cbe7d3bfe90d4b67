/* The C kernel's entry. Every started hart arrives here with the registers
 * of docs/protocol.md, section 2. Compiled code cannot be trusted to see
 * them unchanged, so they are stored first, in a record at the top of the
 * hart's stack, and c_kernel_main gets (a0 = hart id, a1 = BootInfo,
 * a2 = the record) as they arrived.
 *
 * gp is left alone: kernel.ld defines no __global_pointer$, so the linker
 * relaxes nothing to gp-relative accesses. */
#include "check.h"

    .section .text.loader_api_start, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    addi sp, sp, -C_KERNEL_ENTRY_FRAME
    sd a0, C_KERNEL_ENTRY_A0(sp)
    sd a1, C_KERNEL_ENTRY_A1(sp)
    sd tp, C_KERNEL_ENTRY_TP(sp)
    sd gp, C_KERNEL_ENTRY_GP(sp)
    sd ra, C_KERNEL_ENTRY_RA(sp)
    addi t0, sp, C_KERNEL_ENTRY_FRAME
    sd t0, C_KERNEL_ENTRY_SP(sp)
    csrr t0, satp
    sd t0, C_KERNEL_ENTRY_SATP(sp)
    mv a2, sp
    call c_kernel_main
1:  wfi                     /* c_kernel_main does not return */
    j 1b
    .size _start, . - _start

/* stvec: the protocol leaves it pointing at the kernel's entry, so the
 * first fault would restart the kernel. This reports the trap instead. It
 * stays on the current stack, which is good enough for an example (a stack
 * overflow into the guard page faults again here and hangs). */
    .text
    .balign 4
    .globl c_kernel_trap_vector
    .type c_kernel_trap_vector, @function
c_kernel_trap_vector:
    csrr a0, scause
    csrr a1, sepc
    csrr a2, stval
    call c_kernel_trap
2:  wfi
    j 2b
    .size c_kernel_trap_vector, . - c_kernel_trap_vector
