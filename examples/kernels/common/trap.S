// The kernels' trap vector (direct mode, so 4-byte aligned). Nothing here
// returns: a trap in these kernels is a failure to report. The first hart to
// trap switches to a private stack (its own may be what faulted) and calls
// kernel_trap(scause, sepc, stval, ra, sp); any later one parks, since the
// machine is about to stop anyway.

    .section .text.kernel_trap, "ax", @progbits
    .balign 4
    .globl kernel_trap_vector
    .type kernel_trap_vector, @function
kernel_trap_vector:
    lla t0, kernel_trap_claimed
    li t1, 1
    amoswap.w.aq t1, t1, (t0)
    bnez t1, kernel_park_hart
    mv a4, sp
    lla sp, kernel_trap_stack_top
    csrr a0, scause
    csrr a1, sepc
    csrr a2, stval
    mv a3, ra
    call kernel_trap
    .size kernel_trap_vector, . - kernel_trap_vector

    .globl kernel_park_hart
    .type kernel_park_hart, @function
kernel_park_hart:
    csrci sstatus, 2        // SIE
    csrw sie, zero
1:  wfi
    j 1b
    .size kernel_park_hart, . - kernel_park_hart

    .section .bss.kernel_trap, "aw", @nobits
    .balign 16
kernel_trap_claimed:
    .zero 16
kernel_trap_stack:
    .zero 4096
kernel_trap_stack_top:
