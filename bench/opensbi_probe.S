/* OpenSBI's share of the boot: a payload whose first instruction reads
   instret, so under -icount shift=0 the value is the instructions (virtual
   nanoseconds) from reset to the point where the loader would start. It
   prints "probe: entry instret N" through the legacy SBI console and powers
   off with SBI SRST. */

#define SBI_LEGACY_PUTCHAR 1
#define SBI_EXT_SRST 0x53525354

    /* gp is not set up: no lla may be relaxed into a gp-relative access. */
    .option norelax
    .section .text, "ax", @progbits
    .globl _start
_start:
    csrr s0, instret
    /* A second hart sent here by the firmware (see the loader's entry.S)
       must not print over the first: one wins, the other parks. */
    lla t0, claimed
    li t1, 1
    amoswap.w.aq t0, t1, (t0)
    bnez t0, park

    lla a0, prefix
    call print_string

    /* Digits right to left into the end of the buffer, then out. */
    lla s1, digits_end
    li t2, 10
1:  remu t3, s0, t2
    divu s0, s0, t2
    addi t3, t3, '0'
    addi s1, s1, -1
    sb t3, 0(s1)
    bnez s0, 1b
    mv a0, s1
    call print_string

    li a7, SBI_EXT_SRST
    li a6, 0            /* system_reset */
    li a0, 0            /* shutdown */
    li a1, 0            /* no reason */
    ecall
park:
    wfi
    j park

/* a0: NUL-terminated string. Uses a0, a7, t4, t5 only. */
print_string:
    mv t5, a0
2:  lbu a0, 0(t5)
    beqz a0, 3f
    li a7, SBI_LEGACY_PUTCHAR
    ecall
    addi t5, t5, 1
    j 2b
3:  ret

    .section .rodata, "a", @progbits
prefix:
    .asciz "probe: entry instret "

    .section .data, "aw", @progbits
    .balign 4
claimed:
    .word 0
digits:
    .zero 20
digits_end:
    .byte '\n', 0
