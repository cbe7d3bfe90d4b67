/* The loader's assembly: the boot hart's entry and self-relocation, the
   trampoline the other harts start on, the handoff into the kernel and the
   trap vector. The headers before _start are in image_header.S.
   OpenSBI (fw_dynamic, QEMU -kernel) and U-Boot's booti enter the image's
   first byte, which jumps to _start, in S-mode with the MMU off, a0 = hart
   id, a1 = DTB. */

#include "../common/sbi_ids.h"
#include "handoff_layout.h"
#include "image_header.h"

#define SSTATUS_SIE (1 << 1)
#define SSTATUS_SPIE (1 << 5)
#define SSTATUS_SPP (1 << 8)
#define SSTATUS_SUM (1 << 18)
#define SSTATUS_MXR (1 << 19)
#define SSTATUS_FS (3 << 13)
#define SSTATUS_FS_INITIAL (1 << 13)
#define SSTATUS_VS (3 << 9)

/* The first instructions of every door: the entry timestamps in s2 and s3
   (as early as they can be measured) and the claim of the boot: a second
   hart that gets here goes to `surplus`. */
.macro ENTER_LOADER surplus
    csrr s2, time
    csrr s3, instret
    lla t0, loader_boot_claimed
    li t1, 1
    amoswap.w.aq t0, t1, (t0)
    bnez t0, \surplus
.endm

    .section .text.entry, "ax", @progbits
    .globl _start
_start:
    /* A fault in the next instructions must already be reported. */
    jal t5, .Ltake_traps
    /* One boot hart only. OpenSBI 1.1 under QEMU sometimes sends two harts
       here (seen with -smp 4 on MTTCG); a second one would share the boot
       stack and clear .bss under the first. It goes back to the firmware
       instead (HSM hart_stop), and the boot hart starts it like any other. */
    ENTER_LOADER .Lsurplus_boot_hart

    jal t5, .Lrelocate_image
    jal t5, .Lenter_boot_stack
    mv a2, s2
    mv a3, s3
    call loader_main
    j loader_park

.Lsurplus_boot_hart:
    li a7, SBI_EXT_HSM
    li a6, SBI_HSM_HART_STOP    /* returns only on failure */
    ecall
    j loader_park

/* The EFI door (the PE header's entry point): the firmware calls
   loader_efi_main's way in with a0 = image handle, a1 = system table, on
   its own stack. The loader never returns to it: an error stops the machine
   as on every other path. Traps and interrupts stay the firmware's while its
   boot services run (they may need its timer); efi_door.cpp calls
   loader_take_traps once it has left them. */
    .balign 4
    .globl loader_efi_entry
loader_efi_entry:
    ENTER_LOADER loader_park
    mv s4, a0
    mv s5, a1
    jal t5, .Lrelocate_image
    /* The boot hart is not known yet: loader_efi_main records it. The
       firmware's sscratch stays until loader_take_traps. */
    mv a0, zero
    csrr s6, sscratch
    jal t5, .Lenter_boot_stack
    csrw sscratch, s6
    mv a0, s4
    mv a1, s5
    mv a2, s2
    mv a3, s3
    call loader_efi_main
    j loader_park

/* The loader's trap vector, interrupts off. No stack; returns through t5
   (loader_take_traps: through ra, for C++). */
    .globl loader_take_traps
loader_take_traps:
    /* The EFI door, on the boot stack: sscratch as the trap handler wants it. */
    lla t0, loader_boot_stack_top
    csrw sscratch, t0
    mv t5, ra
.Ltake_traps:
    lla t0, loader_trap_entry
    csrw stvec, t0
    csrci sstatus, SSTATUS_SIE
    csrw sie, zero
    jr t5

/* The image runs where the firmware put it: apply its R_RISCV_RELATIVE
   relocations for the distance between that place and the link address,
   which the .dynamic section holds (DT_RELA is the table's link address;
   __rela_dyn_start is where it is now). No stack; returns through t5;
   clobbers a2-a6, t0-t3 and t6, keeps a0 and a1. */
.Lrelocate_image:
    lla a2, _DYNAMIC
    mv a3, zero     /* DT_RELA */
    mv a4, zero     /* DT_RELASZ */
.Ldynamic_entry:
    ld t0, 0(a2)
    beqz t0, .Ldynamic_done
    ld t1, 8(a2)
    addi a2, a2, 16
    li t2, DT_RELA
    bne t0, t2, 1f
    mv a3, t1
1:  li t2, DT_RELASZ
    bne t0, t2, .Ldynamic_entry
    mv a4, t1
    j .Ldynamic_entry
.Ldynamic_done:
    lla a5, __rela_dyn_start
    sub a6, a5, a3  /* run address - link address */
    add a4, a5, a4
.Lrelocate:
    bgeu a5, a4, .Lrelocated
    ld t0, 0(a5)    /* r_offset */
    ld t1, 8(a5)    /* r_info: symbol 0, type R_RISCV_RELATIVE, nothing else */
    ld t2, 16(a5)   /* r_addend */
    li t3, R_RISCV_RELATIVE
    lla t6, .Lbad_relocation_message
    bne t1, t3, .Learly_failure
    add t0, t0, a6
    add t2, t2, a6
    sd t2, 0(t0)
    addi a5, a5, RELA_ENTRY_SIZE
    j .Lrelocate
.Lrelocated:
    jr t5

/* The boot stack, with a0 as its hart id, sscratch for the trap handler, and
   a cleared .bss. Returns through t5. */
.Lenter_boot_stack:
    lla sp, loader_boot_stack_top
    sd a0, STACK_HART_ID(sp)
    csrw sscratch, sp
    addi sp, sp, -STACK_RESERVED
    mv s0, zero
    lla t0, __bss_start
    lla t1, __bss_end
1:  bgeu t0, t1, 2f
    sd zero, 0(t0)
    addi t0, t0, 8
    j 1b
2:  jr t5

    .text

/* Other harts, started by SBI HSM hart_start: a0 = hart id, a1 = its
   HartSlot (physical; satp is 0 here). */
    .balign 4
    .globl loader_secondary_entry
loader_secondary_entry:
    lla t0, loader_trap_entry
    csrw stvec, t0
    csrw sie, zero
    ld sp, SLOT_STACK_TOP(a1)
    sd a0, STACK_HART_ID(sp)
    csrw sscratch, sp
    addi sp, sp, -STACK_RESERVED
    mv s0, zero
    call loader_secondary_main
    j loader_park

/* loader_handoff(const HandoffRecord* record), never returns.
   Waits until the boot hart publishes the record (state != WAIT), then
   enters the kernel: see handoff.hpp for the register contract. */
    .balign 4
    .globl loader_handoff
loader_handoff:
    mv t6, a0
1:  lw t0, HANDOFF_STATE(t6)
    bnez t0, 2f
    /* pause (Zihintpause) is a hint: a plain fence on harts without it. */
    .insn i 0x0f, 0, x0, x0, 0x010
    j 1b
2:  /* Acquire: the record's other fields (and the page tables, BootInfo and
       kernel image the boot hart wrote before publishing) are read after
       the state. */
    fence r, rw
    li t1, HANDOFF_STATE_GO
    bne t0, t1, loader_park

    ld t0, HANDOFF_SATP(t6)
    ld t1, HANDOFF_ENTRY(t6)
    ld sp, HANDOFF_SP(t6)
    ld tp, HANDOFF_TP(t6)
    ld a0, HANDOFF_A0(t6)
    ld a1, HANDOFF_A1(t6)

    csrci sstatus, SSTATUS_SIE
    csrw sie, zero
    li t2, SSTATUS_SPIE | SSTATUS_SUM | SSTATUS_MXR | SSTATUS_FS | SSTATUS_VS
    csrc sstatus, t2
    li t2, SSTATUS_FS_INITIAL
    csrs sstatus, t2
    /* The fetch after the satp write faults (the kernel's tables do not map
       the loader) and enters the kernel through stvec. */
    csrw stvec, t1
    /* The loader wrote (or relocated) the code this hart is about to run. */
    fence.i
    sfence.vma

    mv ra, zero
    mv gp, zero
    mv t2, zero
    mv s0, zero
    mv s1, zero
    mv a2, zero
    mv a3, zero
    mv a4, zero
    mv a5, zero
    mv a6, zero
    mv a7, zero
    mv s2, zero
    mv s3, zero
    mv s4, zero
    mv s5, zero
    mv s6, zero
    mv s7, zero
    mv s8, zero
    mv s9, zero
    mv s10, zero
    mv s11, zero
    mv t3, zero
    mv t4, zero
    mv t5, zero
    mv t6, zero
    csrw satp, t0
    /* Reached only when the new tables map this code at its physical
       address (the loader's self-test). */
    jr t1

/* Interrupts off, then wait forever: the end of every hart that must stop. */
    .balign 4
    .globl loader_park
loader_park:
    csrci sstatus, SSTATUS_SIE
    csrw sie, zero
1:  wfi
    j 1b

/* One read of the Zkr seed CSR (0x015) under a trap vector of its own:
   S-mode access traps unless M-mode set mseccfg.SSEED, and the spec wants
   a read-write instruction (csrrw). Stores the value at a0 and returns 1,
   or returns 0 when the access trapped; interrupts are off, so nothing
   else arrives here. The stvec target's .balign stays relaxable
   (R_RISCV_ALIGN): earlier code of this section shrinks at link time, so
   padding fixed by the assembler would miss (clang did). */
    .balign 4
    .globl loader_read_seed
loader_read_seed:
    csrr t1, stvec
    lla t0, .Lseed_trapped
    csrw stvec, t0
    csrrw t2, 0x015, zero
    sd t2, 0(a0)
    li a0, 1
    csrw stvec, t1
    ret
    .balign 4
.Lseed_trapped:
    li a0, 0
    csrw stvec, t1
    ret

/* The trap vector. sscratch holds this hart's loader stack top while the
   loader (or a kernel that has not set its own stvec) runs, and 0 while the
   handler itself runs, so that a trap inside the handler is recognised. */
    .balign 4
    .globl loader_trap_entry
loader_trap_entry:
    csrrw sp, sscratch, sp
    beqz sp, .Lnested
    addi sp, sp, -(STACK_RESERVED + FRAME_SIZE)
    sd x1, 1 * 8(sp)
    sd x3, 3 * 8(sp)
    sd x4, 4 * 8(sp)
    sd x5, 5 * 8(sp)
    sd x6, 6 * 8(sp)
    sd x7, 7 * 8(sp)
    sd x8, 8 * 8(sp)
    sd x9, 9 * 8(sp)
    sd x10, 10 * 8(sp)
    sd x11, 11 * 8(sp)
    sd x12, 12 * 8(sp)
    sd x13, 13 * 8(sp)
    sd x14, 14 * 8(sp)
    sd x15, 15 * 8(sp)
    sd x16, 16 * 8(sp)
    sd x17, 17 * 8(sp)
    sd x18, 18 * 8(sp)
    sd x19, 19 * 8(sp)
    sd x20, 20 * 8(sp)
    sd x21, 21 * 8(sp)
    sd x22, 22 * 8(sp)
    sd x23, 23 * 8(sp)
    sd x24, 24 * 8(sp)
    sd x25, 25 * 8(sp)
    sd x26, 26 * 8(sp)
    sd x27, 27 * 8(sp)
    sd x28, 28 * 8(sp)
    sd x29, 29 * 8(sp)
    sd x30, 30 * 8(sp)
    sd x31, 31 * 8(sp)
    csrrw t0, sscratch, zero
    sd t0, 2 * 8(sp)
    sd zero, 0(sp)
    csrr t0, sepc
    sd t0, FRAME_SEPC(sp)
    csrr t0, scause
    sd t0, FRAME_SCAUSE(sp)
    csrr t0, stval
    sd t0, FRAME_STVAL(sp)
    csrr t0, sstatus
    sd t0, FRAME_SSTATUS(sp)
    /* A trap from a kernel: back to untranslated addresses, where the
       handler's data and the exit device are where the loader left them. */
    csrrw t0, satp, zero
    sd t0, FRAME_SATP(sp)
    sfence.vma
    mv a0, sp
    addi a1, sp, STACK_RESERVED + FRAME_SIZE
    mv s0, zero
    call loader_trap
    j loader_park

.Lnested:
    /* No stack to trust: say so with the SBI console alone, then stop. */
    csrw satp, zero
    sfence.vma
    lla t6, .Lnested_message
/* The message at t6 through the SBI console, then a failure exit: for the
   moments without a stack or before the image is relocated. */
.Learly_failure:
1:  lbu a0, 0(t6)
    beqz a0, 2f
    li a7, SBI_EXT_LEGACY_PUTCHAR
    ecall
    addi t6, t6, 1
    j 1b
2:  lla t0, loader_exit_device
    ld t0, 0(t0)
    beqz t0, 3f
    li t1, (1 << 16) | 0x3333   /* sifive,test: fail with code 1 */
    sw t1, 0(t0)
3:  li a7, SBI_EXT_SRST
    li a6, SBI_SRST_SYSTEM_RESET
    li a0, SBI_SRST_TYPE_SHUTDOWN
    li a1, SBI_SRST_REASON_SYSTEM_FAILURE
    ecall
    j loader_park

    .section .rodata
.Lnested_message:
    .asciz "\r\nloader: error: trap inside the trap handler; stopping\r\n"
.Lbad_relocation_message:
    .asciz "\r\nloader: error: the image has a dynamic relocation other than R_RISCV_RELATIVE; stopping\r\n"

/* In .data, not .bss: it must hold before and while .bss is cleared. */
    .section .data
    .balign 4
loader_boot_claimed:
    .word 0

/* Stacks: reserved in the image, neither stored nor cleared. */
    .section .stacks, "aw", @nobits
    .balign 16
    .space BOOT_STACK_SIZE
    .globl loader_boot_stack_top
loader_boot_stack_top:
