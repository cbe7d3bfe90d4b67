// The planner instantiated as the reference loader will: riscv64,
// freestanding, physical = pointer. Compiling it is the test (no heap, no
// exceptions, nothing from the C library beyond mem* functions).

#include "loader_api/plan.hpp"

namespace {
loader_api::Plan plan_storage;
}

bool plan_on_target(const loader_api::PlanInput& input, std::uint64_t failed_hart) {
    loader_api::IdentityPhysicalMemory memory;
    if (!loader_api::make_plan(input, plan_storage, memory)) return false;
    if (!loader_api::mark_hart_failed(plan_storage, failed_hart, -3, memory)) return false;
    loader_api::set_handoff_timestamps(plan_storage, 5, 6, memory);
    return true;
}
