/* loader_api.h as a C11 kernel uses it, compiled with -std=c11 -pedantic
 * -Werror by c_header_compile.py (host and riscv64 C compilers). With
 * C_HEADER_1_0 the frozen 1.0 copy instead; C_HEADER_READ_V1_1 reads a 1.1
 * field, which must not compile against the 1.0 header. */
#ifdef C_HEADER_1_0
#include "loader_api_1_0.h"
#else
#include "loader_api/loader_api.h"
#endif

LOADER_API_C_CONFIG(kernel_config, .stack_size = 128 * 1024, .kaslr = LOADER_API_KASLR_DISABLED,
                    .start_harts = LOADER_API_HARTS_UP_TO, .max_harts = 2);

uint64_t use_every_accessor(const loader_api_boot_info* info);

uint64_t use_every_accessor(const loader_api_boot_info* info) {
    uint64_t sum = (uint64_t)loader_api_is_compatible(info);
    sum += loader_api_hart_table(info)[0].hart_id;
    sum += loader_api_memory_regions(info)[0].kind;
    sum += loader_api_kernel_segments(info)[0].flags;
    sum += (uint64_t)loader_api_command_line(info)[0];
    sum += loader_api_find_hart(info, 3) != NULL;
#ifndef C_HEADER_1_0
    sum += (uint64_t)loader_api_has_v1_1(info);
    sum += loader_api_efi_memory_map(info) != NULL;
    sum += loader_api_efi_memory_map_size(info);
#endif
#ifdef C_HEADER_READ_V1_1
    sum += info->entropy_sources;
#endif
    return sum + kernel_config.stack_size;
}
