// The test kernel's _start. It must see the registers exactly as the loader
// left them, which compiled code cannot promise (a prologue moves sp, calls
// change ra), so before any C++ runs it stores them in an EntryRegisters
// record just below the top of the stack it was given, then calls
//     test_kernel_enter(a0 = hart id, a1 = BootInfo, a2 = the record)
// with sp below the record (16-byte aligned if the entry sp was).
//
// The first instruction reads instret, so that instructions from the loader's
// entry (BootInfo.timestamps) to here can be counted (bench/run.py); the value
// sits in the 16 bytes just above the record, which main.cpp only prints.
//
// LOADER_API_KERNEL cannot be used for this kernel: it defines _start itself
// (see the report in main.cpp). gp is not loaded: kernel.ld defines no
// __global_pointer$, so GNU ld does not relax anything to gp-relative.
//
// Layout: keep in sync with EntryRegisters in main.cpp (static_asserts there).
#define REGS_A0 0
#define REGS_A1 8
#define REGS_SP 16
#define REGS_TP 24
#define REGS_GP 32
#define REGS_RA 40
#define REGS_SATP 48
#define REGS_SSTATUS 56
#define REGS_SIE 64
#define REGS_STVEC 72
#define REGS_SEPC 80
#define REGS_SCAUSE 88
#define REGS_STVAL 96
#define REGS_SIZE 112
#define REGS_INSTRET REGS_SIZE
#define FRAME_SIZE (REGS_SIZE + 16)

    .section .text.loader_api_start, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    csrr t1, instret
    addi sp, sp, -FRAME_SIZE
    sd t1, REGS_INSTRET(sp)
    sd a0, REGS_A0(sp)
    sd a1, REGS_A1(sp)
    sd tp, REGS_TP(sp)
    sd gp, REGS_GP(sp)
    sd ra, REGS_RA(sp)
    addi t0, sp, FRAME_SIZE
    sd t0, REGS_SP(sp)
    csrr t0, satp
    sd t0, REGS_SATP(sp)
    csrr t0, sstatus
    sd t0, REGS_SSTATUS(sp)
    csrr t0, sie
    sd t0, REGS_SIE(sp)
    csrr t0, stvec
    sd t0, REGS_STVEC(sp)
    /* The trap that entered the kernel: the fetch after the loader's satp write. */
    csrr t0, sepc
    sd t0, REGS_SEPC(sp)
    csrr t0, scause
    sd t0, REGS_SCAUSE(sp)
    csrr t0, stval
    sd t0, REGS_STVAL(sp)
    mv a2, sp
    call test_kernel_enter
1:  unimp                   // test_kernel_enter does not return
    j 1b
    .size _start, . - _start
