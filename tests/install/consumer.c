/* A C consumer of the installed loader_api.h: the 1.1 BootInfo header and
 * its first region, read with nothing but the header pkg-config points to. */
#include <stdint.h>

#include "loader_api/loader_api.h"

uint64_t consumer_total_size(const struct loader_api_boot_info *boot_info) {
    return boot_info->header.total_size + LOADER_API_BOOT_INFO_MAGIC;
}
