#include "check.h"

#include <stddef.h>

const char* c_kernel_check_boot_info(const loader_api_boot_info* info) {
    /* Any version can read the header (its layout never changes), so these
     * come first and name the field that differs. */
    if (info->header.magic != LOADER_API_BOOT_INFO_MAGIC) return "BootInfo: bad magic (not a BootInfo)";
    if (info->header.version_major != LOADER_API_BOOT_INFO_VERSION_MAJOR)
        return "BootInfo: major version is not 1 (incompatible layout)";
    if (info->header.abi_fingerprint != LOADER_API_ABI_FINGERPRINT)
        return "BootInfo: ABI fingerprint differs from this kernel's";
#if LOADER_API_BOOT_INFO_VERSION_MINOR >= 1
    /* This build prints entropy_sources and the EFI fields: in a 1.0 block
     * those bytes are not fields at all (the arrays may start there). */
    if (!loader_api_has_v1_1(info))
        return "BootInfo: version 1.0, but this kernel needs 1.1 (it reads entropy_sources and the EFI fields)";
#endif
    if (info->header.total_size < sizeof(loader_api_boot_info))
        return "BootInfo: total_size is smaller than the fixed part";
    return NULL;
}

const char* c_kernel_check_entry(const loader_api_boot_info* info, const struct c_kernel_entry_registers* registers) {
    const loader_api_hart_info* hart = loader_api_find_hart(info, registers->a0);
    if (hart == NULL || hart->state != LOADER_API_HART_STARTED) return "entry: a0 is not a started hart of the hart table";
    if (registers->a1 % 8 != 0 || registers->a1 < info->physmap.begin || registers->a1 >= info->physmap.end)
        return "entry: a1 (BootInfo) is not 8-byte aligned inside the physmap";
    if (registers->sp != hart->stack.end) return "entry: sp is not stack.end of this hart";
    if (registers->sp % 16 != 0) return "entry: sp is not 16-byte aligned";
    if (registers->tp != hart->tls.begin) return "entry: tp is not tls.begin of this hart";
    if (registers->gp != 0) return "entry: gp is not 0";
    if (registers->ra != 0) return "entry: ra is not 0";
    /* MODE in bits 63..60, ASID (bits 59..44) 0, PPN below. */
    const uint64_t satp = ((uint64_t)info->paging_mode << 60) | (info->root_table >> 12);
    if (registers->satp != satp) return "entry: satp is not paging_mode, ASID 0, root_table";
    return NULL;
}
