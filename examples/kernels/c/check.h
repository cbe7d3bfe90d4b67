/* What the C kernel checks before it trusts its entry: the BootInfo's
 * header and the registers _start saved. Pure functions of their arguments,
 * so the host tests run them too (tests/loader_api/c_kernel_check_test.cpp).
 * Included by start.S for the record's layout. */
#ifndef C_KERNEL_CHECK_H
#define C_KERNEL_CHECK_H

/* The registers as the loader left them, stored by start.S before any
 * compiled code can change them (a prologue moves sp, a call changes ra). */
#define C_KERNEL_ENTRY_A0 0
#define C_KERNEL_ENTRY_A1 8
#define C_KERNEL_ENTRY_SP 16
#define C_KERNEL_ENTRY_TP 24
#define C_KERNEL_ENTRY_GP 32
#define C_KERNEL_ENTRY_RA 40
#define C_KERNEL_ENTRY_SATP 48
/* A multiple of 16, so that sp stays aligned below the record. */
#define C_KERNEL_ENTRY_FRAME 64

#ifndef __ASSEMBLER__

#include <stdint.h>

/* The 1.0 build stands for a kernel written before protocol 1.1: it sees
 * only what the frozen 1.0 header declares. */
#ifdef C_KERNEL_PROTOCOL_1_0
#include "loader_api_1_0.h"
#else
#include "loader_api/loader_api.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

struct c_kernel_entry_registers {
    uint64_t a0;
    uint64_t a1;
    uint64_t sp;
    uint64_t tp;
    uint64_t gp;
    uint64_t ra;
    uint64_t satp;
};
LOADER_API_STATIC_ASSERT(sizeof(struct c_kernel_entry_registers) <= C_KERNEL_ENTRY_FRAME, "entry record");

/* NULL when the block is one this kernel can read: magic, major version and
 * fingerprint equal its own, the minor version at least the one whose fields
 * it reads, the size at least that version's fixed part. Otherwise the
 * reason, one line. */
const char* c_kernel_check_boot_info(const loader_api_boot_info* info);

/* NULL when the saved registers are what docs/protocol.md (section 2)
 * promises the hart `registers->a0` claims to be; otherwise what is wrong. */
const char* c_kernel_check_entry(const loader_api_boot_info* info, const struct c_kernel_entry_registers* registers);

#ifdef __cplusplus
}
#endif

#endif /* __ASSEMBLER__ */
#endif /* C_KERNEL_CHECK_H */
