#pragma once
// A stand-in kernel inside the loader image, used until the planner builds a
// real one: it exercises the hart start and the handoff on every hart. Each
// hart enters it through loader_handoff on the identity tables, checks the
// register contract, prints "hello from hart N", and the boot hart stops the
// machine with success once every started hart has arrived.

#include <cstddef>
#include <cstdint>

#include "handoff.hpp"
#include "kmem/riscv.hpp"
#include "platform.hpp"

namespace loader::selftest {

// Fills the handoff record of every started slot (satp of the identity
// tables in `mode`, the hart's loader stack, a per-hart tp, the entry below).
void prepare(HartSlot* slots, std::size_t count, std::uint64_t boot_hart_id, kmem::PagingModeId mode,
             std::uint64_t timebase_frequency);

}  // namespace loader::selftest
