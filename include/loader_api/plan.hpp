#pragma once
// The boot planner (docs/design.md, "The planner"): one pure function from
// the device tree, the kernel ELF, the loader's options and entropy to a
// Plan (physical allocations, virtual layout, page tables, BootInfo) or a
// PlanError naming the cause. plan/types.hpp holds the data types,
// plan/planner.hpp the algorithm (one header per phase beside it),
// plan/random.hpp the deterministic PRNG.
//
//   loader_api::Plan& plan = ...;                      // large: static or heap
//   loader_api::IdentityPhysicalMemory memory;         // target: MMU off
//   auto planned = loader_api::make_plan(input, plan, memory);
//   ... start harts; loader_api::mark_hart_failed(plan, id, error, memory) for each failure
//   loader_api::set_handoff_timestamps(plan, time, instret, memory);
//   each hart: satp = plan.satp, sp/tp from plan.harts, a0 = hart id,
//   a1 = plan.boot_info_virtual, jump to plan.entry.

#include "loader_api/plan/planner.hpp"
#include "loader_api/plan/random.hpp"
#include "loader_api/plan/types.hpp"
