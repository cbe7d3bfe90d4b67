#pragma once
// Which paging modes this hart implements, found by writing satp and reading
// it back (an unsupported MODE leaves satp unchanged, privileged spec "satp"),
// and the bootstrap identity tables the probe runs on.

#include <cstdint>

#include "kmem/riscv.hpp"
#include "loader_api/plan/types.hpp"

namespace loader {

using PagingModes = loader_api::PagingModeSet;

// Fills the identity tables: the 1 GiB holding the probe mapped to itself,
// reachable as an Sv39, Sv48 or Sv57 root (Sv39 addresses are canonical
// only below 256 GiB, Sv48's below 128 TiB).
void build_identity_tables();

// satp for the identity tables in `mode` (ASID 0).
std::uint64_t identity_satp(kmem::PagingModeId mode);

// Needs build_identity_tables() first and satp = 0 (Bare); leaves satp = 0.
PagingModes probe_paging_modes();

}  // namespace loader
