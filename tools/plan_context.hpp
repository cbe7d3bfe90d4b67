#pragma once
// What loader-plan knows besides the Plan: the files it read and where it
// pretended they lie in RAM (the planner needs physical addresses for the
// loader image, the kernel file and the device tree), and the figures it
// computed from the simulated memory. Shared by the report, JSON and SVG.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kmem/range.hpp"
#include "loader_api/host/simulated_memory.hpp"
#include "loader_api/plan.hpp"

namespace loader_plan {

enum class EntropySource { Seed, RngSeed, None };

constexpr const char* to_text(EntropySource source) {
    switch (source) {
        case EntropySource::Seed: return "--seed";
        case EntropySource::RngSeed: return "/chosen/rng-seed";
        case EntropySource::None: return "none";
    }
    return "?";
}

struct Context {
    std::string dtb_path;
    std::string kernel_path;
    kmem::PhysicalRange loader_text{};
    kmem::PhysicalRange loader_data{};
    kmem::PhysicalRange kernel_file{};
    kmem::PhysicalRange device_tree{};
    kmem::PhysicalRange firmware{};    // OpenSBI's reservation, added to the tree (see loader_plan.cpp)
    bool firmware_added = false;       // the tool added it: the tree reserved nothing there
    bool firmware_unreserved = false;  // --tree-as-is and the tree reserves nothing there
    std::uint64_t boot_hart = 0;
    bool boot_hart_given = false;
    bool mode_capped = false;          // --mode: loader.paging=
    kmem::PagingModeId mode_cap = kmem::PagingModeId::Sv57;
    kmem::PagingModeId probed = kmem::PagingModeId::Sv57;  // widest mode the simulated satp probe accepts
    bool probe_given = false;          // --probe, else the boot hart's mmu-type
    EntropySource entropy = EntropySource::None;
    std::size_t entropy_bytes = 0;
    std::size_t rng_seed_bytes = 0;  // the tree's /chosen/rng-seed, hashed in even with --seed
    std::uint64_t minimum_table_frames = 0;
    const loader_api::Plan* plan = nullptr;
};

}  // namespace loader_plan
