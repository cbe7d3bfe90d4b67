// Planner benchmark (issue 7, figures 3 and 5).
//
//   plan_bench plan DTB KERNEL [--layout TEXT,DATA,END,KERNEL_AT] [--dtb-at PA] [--variants N]
//       Plans one machine the way the reference loader does (Sv39/48/57
//       supported, KASLR by the kernel's config, entropy only from the tree's
//       rng-seed) and prints one key=value line: paging mode, the plan's
//       page-table frames against kmem::minimum_table_frames of its leaves,
//       and the bytes of each kind the kernel keeps (Kernel, PageTables,
//       BootInfo: "permanent"; KernelStack and Tls besides). --layout gives
//       the loader image as the real one lies (text, data and end addresses,
//       the embedded kernel file's address), --dtb-at where QEMU put the tree;
//       otherwise tests/plan's placement is used. --variants N plans N more
//       times with extra entropy (other KASLR positions) and prints the range
//       of the figures. Only the first make_plan() is counted under callgrind
//       (see callgrind_markers.hpp).
//   plan_bench random KERNEL COUNT [SEED]
//       Plans COUNT random machines and prints how many it planned per
//       second of wall-clock time spent in make_plan() alone.
//   plan_bench --smoke KERNEL [DTB...]
//       Each DTB and 50 random machines, every plan checked by
//       tests/plan/plan_checks.hpp; fails on any problem.
//
// Every plan is checked for the frame figure: the tables reachable from the
// root must be exactly the plan's count. Exits 1 when a check fails.

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "../tests/fdt/blob_builder.hpp"
#include "../tests/plan/plan_checks.hpp"
#include "callgrind_markers.hpp"
#include "loader_api/host/plan_inspect.hpp"
#include "loader_api/host/simulated_memory.hpp"
#include "loader_api/plan.hpp"

namespace {

using kmem::PhysicalAddress;
using loader_api::MemoryRegionKind;
using loader_api::Plan;
using loader_api::host::SimulatedMemory;
using loader_api::plan_random::SplitMix64;

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;

struct Layout {
    bool given = false;
    std::uint64_t text = 0, data = 0, end = 0, kernel = 0;
    bool has_dtb_at = false;
    std::uint64_t dtb_at = 0;
};

// The reference loader's options (examples/reference_loader/main.cpp):
// every mode its QEMU hart has, no entropy besides the tree's.
bool prepare(plan_test::Machine& machine, SimulatedMemory& memory, const Layout& layout) {
    if (!plan_test::place_inputs(machine, memory)) return false;
    auto& options = machine.input.options;
    options.supported_modes = loader_api::PagingModeSet::all();
    options.kaslr_default = true;
    if (layout.given) {
        options.loader_text = {PhysicalAddress(layout.text), PhysicalAddress(layout.data)};
        options.loader_data = {PhysicalAddress(layout.data), PhysicalAddress(layout.end)};
        machine.input.kernel_address = PhysicalAddress(layout.kernel);
        memory.store(machine.input.kernel_address, machine.input.kernel);
    }
    if (layout.has_dtb_at) {
        machine.input.device_tree_address = PhysicalAddress(layout.dtb_at);
        memory.store(machine.input.device_tree_address, plan_test::as_bytes(machine.dtb));
    }
    return true;
}

struct Figures {
    std::uint64_t table_frames = 0, minimum_frames = 0, reachable_tables = 0;
    bool leaves_match = false;  // stats.leaves counts the leaves in the tables, level by level
    std::uint64_t bytes[loader_api::kMemoryRegionKindLast + 1] = {};
};

Figures figures_of(const Plan& plan, SimulatedMemory& memory) {
    Figures figures;
    figures.table_frames = plan.stats.table_frames;
    figures.minimum_frames = loader_api::host::minimum_table_frames(plan, memory);
    figures.reachable_tables = loader_api::host::collect_tables(plan, memory).size();
    std::remove_cvref_t<decltype(plan.stats.leaves)> leaves{};
    for (const kmem::Leaf& leaf : loader_api::host::collect_leaves(plan, memory)) ++leaves[leaf.level];
    figures.leaves_match = std::equal(std::begin(leaves), std::end(leaves), std::begin(plan.stats.leaves));
    for (const auto& region : plan.boot_info().regions())
        figures.bytes[static_cast<std::uint32_t>(region.kind)] += region.range.size();
    return figures;
}

std::uint64_t bytes_of(const Figures& figures, MemoryRegionKind kind) {
    return figures.bytes[static_cast<std::uint32_t>(kind)];
}

// The frame and leaf counts the plan reports must be the tables it actually
// built (the planner counts leaves by map()'s rule, not by walking them).
bool frames_consistent(const Figures& figures, const std::string& what) {
    if (!figures.leaves_match) std::fprintf(stderr, "plan_bench: %s: plan's leaf counts differ from its tables\n", what.c_str());
    if (figures.reachable_tables == figures.table_frames) return figures.leaves_match;
    std::fprintf(stderr, "plan_bench: %s: plan counts %" PRIu64 " table frames, %" PRIu64 " reachable from the root\n",
                 what.c_str(), figures.table_frames, figures.reachable_tables);
    return false;
}

// The frame and byte figures depend on where KASLR put things (a kernel
// straddling a 2 MiB boundary needs one more table), so after the plan the
// loader would make (entropy from the tree alone, the one callgrind counts),
// `variants` more are made with extra entropy and their range is printed.
int plan_one(const std::string& dtb_path, const std::string& kernel_path, const Layout& layout, std::uint64_t variants) {
    plan_test::Machine machine;
    machine.dtb = plan_test::read_file(dtb_path);
    machine.kernel = plan_test::read_file(kernel_path);
    if (machine.dtb.empty() || machine.kernel.empty()) {
        std::fprintf(stderr, "plan_bench: cannot read %s or %s\n", dtb_path.c_str(), kernel_path.c_str());
        return 1;
    }
    SimulatedMemory memory;
    if (!prepare(machine, memory, layout)) {
        std::fprintf(stderr, "plan_bench: %s: unreadable tree or no 8 MiB RAM range\n", dtb_path.c_str());
        return 1;
    }
    auto plan = std::make_unique<Plan>();
    BENCH_MEASURE_BEGIN();
    auto result = loader_api::make_plan(machine.input, *plan, memory);
    BENCH_MEASURE_END();
    if (!result) {
        std::fprintf(stderr, "plan_bench: %s: %s\n", dtb_path.c_str(), plan_test::text_of(result.error()).c_str());
        return 1;
    }
    auto permanent_of = [](const Figures& f) {
        return bytes_of(f, MemoryRegionKind::Kernel) + bytes_of(f, MemoryRegionKind::PageTables) +
               bytes_of(f, MemoryRegionKind::BootInfo);
    };
    const Figures figures = figures_of(*plan, memory);
    bool ok = frames_consistent(figures, dtb_path);
    std::uint64_t frames_min = figures.table_frames, frames_max = figures.table_frames;
    std::uint64_t permanent_min = permanent_of(figures), permanent_max = permanent_min;
    std::uint64_t not_minimal = figures.table_frames != figures.minimum_frames;
    for (std::uint64_t i = 0; i < variants; ++i) {
        std::uint8_t entropy[8];
        for (unsigned b = 0; b < 8; ++b) entropy[b] = static_cast<std::uint8_t>((i + 1) >> (8 * b));
        plan_test::Machine variant = machine;
        variant.input.options.entropy = entropy;
        variant.input.options.entropy_sources = loader_api::kEntropyZkr;
        SimulatedMemory variant_memory;
        variant_memory.store(variant.input.kernel_address, variant.input.kernel);
        variant_memory.store(variant.input.device_tree_address, plan_test::as_bytes(variant.dtb));
        auto other = std::make_unique<Plan>();
        auto planned = loader_api::make_plan(variant.input, *other, variant_memory);
        if (!planned) {
            std::fprintf(stderr, "plan_bench: %s, entropy %" PRIu64 ": %s\n", dtb_path.c_str(), i + 1,
                         plan_test::text_of(planned.error()).c_str());
            return 1;
        }
        const Figures f = figures_of(*other, variant_memory);
        ok = frames_consistent(f, dtb_path) && ok;
        not_minimal += f.table_frames != f.minimum_frames;
        frames_min = std::min(frames_min, f.table_frames);
        frames_max = std::max(frames_max, f.table_frames);
        permanent_min = std::min(permanent_min, permanent_of(f));
        permanent_max = std::max(permanent_max, permanent_of(f));
    }
    std::printf("mode=%s harts=%zu kaslr=%d table_frames=%" PRIu64 " minimum_frames=%" PRIu64
                " leaves_4k=%" PRIu64 " leaves_2m=%" PRIu64 " leaves_1g=%" PRIu64 " kernel_bytes=%" PRIu64
                " page_table_bytes=%" PRIu64 " boot_info_bytes=%" PRIu64 " permanent_bytes=%" PRIu64
                " stack_bytes=%" PRIu64 " tls_bytes=%" PRIu64 " variants=%" PRIu64 " table_frames_min=%" PRIu64
                " table_frames_max=%" PRIu64 " permanent_min=%" PRIu64 " permanent_max=%" PRIu64
                " not_minimal=%" PRIu64 "\n",
                std::string(kmem::name(plan->mode)).c_str(), plan->boot_info().hart_table().size(),
                plan->kaslr ? 1 : 0, figures.table_frames, figures.minimum_frames, plan->stats.leaves[0],
                plan->stats.leaves[1], plan->stats.leaves[2], bytes_of(figures, MemoryRegionKind::Kernel),
                bytes_of(figures, MemoryRegionKind::PageTables), bytes_of(figures, MemoryRegionKind::BootInfo),
                permanent_of(figures), bytes_of(figures, MemoryRegionKind::KernelStack),
                bytes_of(figures, MemoryRegionKind::Tls), variants, frames_min, frames_max, permanent_min,
                permanent_max, not_minimal);
    return ok ? 0 : 1;
}

// A machine of the kind a kernel meets on RISC-V boards and in QEMU: 1 to 3
// RAM ranges from 32 MiB to 64 GiB (the first at 2 GiB), 1 to 32 harts
// (sometimes sparse ids, some disabled, mixed MMUs), a few reserved ranges,
// an rng-seed most of the time.
std::vector<std::uint8_t> random_machine(SplitMix64& rng) {
    using fdt_test::cells;
    auto chance = [&](unsigned percent) { return rng.below(100) < percent; };
    auto reg = [](std::uint64_t base, std::uint64_t size) {
        return cells({static_cast<std::uint32_t>(base >> 32), static_cast<std::uint32_t>(base),
                      static_cast<std::uint32_t>(size >> 32), static_cast<std::uint32_t>(size)});
    };
    fdt_test::BlobBuilder blob;
    blob.begin("").prop("#address-cells", cells({2})).prop("#size-cells", cells({2}));
    blob.prop("compatible", "bench,random");

    const std::uint64_t harts = 1 + rng.below(32);
    const bool sparse = chance(25);
    static constexpr const char* kMmus[] = {"riscv,sv39", "riscv,sv48", "riscv,sv57"};
    blob.begin("cpus").prop("#address-cells", cells({1})).prop("#size-cells", cells({0}));
    blob.prop("timebase-frequency", cells({10'000'000}));
    for (std::uint64_t i = 0; i < harts; ++i) {
        const std::uint32_t id = static_cast<std::uint32_t>(sparse ? i * 7 + rng.below(7) : i);
        blob.begin("cpu@" + std::to_string(id)).prop("device_type", "cpu").prop("reg", cells({id}));
        blob.prop("status", i == 0 || chance(95) ? "okay" : "disabled");
        blob.prop("riscv,isa", "rv64imafdc");
        blob.prop("mmu-type", i == 0 ? "riscv,sv57" : kMmus[rng.below(3)]);
        blob.end();
    }
    blob.end();

    std::vector<std::pair<std::uint64_t, std::uint64_t>> ram;
    std::uint64_t at = 0x8000'0000;
    for (std::uint64_t i = 0, ranges = 1 + rng.below(3); i < ranges; ++i) {
        const std::uint64_t size = (32 * kMiB) << rng.below(12);  // 32 MiB .. 64 GiB
        ram.emplace_back(at, size);
        at += size + (chance(50) ? 0 : 4 * kGiB);
    }
    for (const auto& [base, size] : ram) {
        char name[32];
        std::snprintf(name, sizeof name, "memory@%" PRIx64, base);
        blob.begin(name).prop("device_type", "memory").prop("reg", reg(base, size)).end();
    }
    // Firmware at the bottom as OpenSBI reserves it, and a few more anywhere
    // in the first range above the loader's inputs (tests/plan's placement).
    blob.begin("reserved-memory").prop("#address-cells", cells({2})).prop("#size-cells", cells({2}));
    blob.prop("ranges", std::vector<std::uint8_t>{});
    blob.begin("mmode_resv@80000000").prop("reg", reg(0x8000'0000, 0x4'0000)).prop("no-map", std::vector<std::uint8_t>{}).end();
    for (std::uint64_t i = rng.below(4); i > 0; --i) {
        const std::uint64_t size = std::uint64_t{4096} << rng.below(10);
        const std::uint64_t base = (ram[0].first + 16 * kMiB + rng.below(ram[0].second - 16 * kMiB - size)) & ~std::uint64_t{4095};
        char name[32];
        std::snprintf(name, sizeof name, "region@%" PRIx64, base);
        blob.begin(name).prop("reg", reg(base, size)).end();
    }
    blob.end();
    blob.begin("chosen");
    if (chance(90)) {
        std::vector<std::uint8_t> seed(32);
        for (auto& byte : seed) byte = static_cast<std::uint8_t>(rng.next());
        blob.prop("rng-seed", seed);
    }
    blob.end();
    blob.end();
    return blob.finish();
}

struct RandomRun {
    std::uint64_t machines = 0, planned = 0, rejected = 0, failed_checks = 0;
    double seconds = 0;  // in make_plan() only
};

// check: run plan_checks.hpp's check_plan on every plan (smoke); the timed
// figure runs without it.
RandomRun plan_random(const std::vector<std::uint8_t>& kernel, std::uint64_t count, std::uint64_t seed, bool check) {
    SplitMix64 rng(seed);
    auto plan = std::make_unique<Plan>();
    RandomRun run;
    for (; run.machines < count; ++run.machines) {
        plan_test::Machine machine;
        machine.dtb = random_machine(rng);
        machine.kernel = kernel;
        SimulatedMemory memory;
        if (!prepare(machine, memory, {})) {
            ++run.failed_checks;
            std::fprintf(stderr, "plan_bench: random machine %" PRIu64 ": generated tree not usable\n", run.machines);
            continue;
        }
        loader_api::PagingModeSet supported;
        while (supported.empty())
            for (auto mode : {kmem::PagingModeId::Sv39, kmem::PagingModeId::Sv48, kmem::PagingModeId::Sv57})
                if (rng.below(4) != 0) supported.add(mode);
        machine.input.options.supported_modes = supported;

        const auto begin = std::chrono::steady_clock::now();
        auto result = loader_api::make_plan(machine.input, *plan, memory);
        run.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
        if (!result) {
            // Only what such a machine can deserve: a mode the kernel allows is
            // always supported here, so only lack of room (RAM or, in Sv39,
            // virtual space for the physmap) may stop a plan.
            ++run.rejected;
            const auto code = result.error().code;
            if (code != loader_api::PlanErrorCode::OutOfMemory && code != loader_api::PlanErrorCode::RamTooLargeForPhysmap) {
                ++run.failed_checks;
                std::fprintf(stderr, "plan_bench: random machine %" PRIu64 ": %s\n", run.machines,
                             plan_test::text_of(result.error()).c_str());
            }
            continue;
        }
        ++run.planned;
        const Figures figures = figures_of(*plan, memory);
        bool ok = frames_consistent(figures, "random machine " + std::to_string(run.machines));
        if (check) {
            const plan_test::Problems problems = plan_test::check_plan(*plan, memory, machine.input);
            if (!problems.ok()) {
                std::fprintf(stderr, "plan_bench: random machine %" PRIu64 ":\n%s", run.machines, problems.joined().c_str());
                ok = false;
            }
        }
        if (!ok) ++run.failed_checks;
    }
    return run;
}

void print_random(const RandomRun& run) {
    std::printf("machines=%" PRIu64 " planned=%" PRIu64 " rejected=%" PRIu64 " failed=%" PRIu64
                " seconds=%.6f per_second=%.1f\n",
                run.machines, run.planned, run.rejected, run.failed_checks, run.seconds,
                run.seconds > 0 ? static_cast<double>(run.machines) / run.seconds : 0.0);
}

bool parse_number(std::string_view text, std::uint64_t& value) {
    const std::string copy(text);
    char* end = nullptr;
    value = std::strtoull(copy.c_str(), &end, 0);
    return !copy.empty() && end != nullptr && *end == '\0';
}

bool parse_layout(std::string_view text, Layout& layout) {
    std::uint64_t* fields[] = {&layout.text, &layout.data, &layout.end, &layout.kernel};
    for (std::size_t i = 0; i < 4; ++i) {
        const std::size_t comma = i < 3 ? text.find(',') : text.size();
        if (comma == std::string_view::npos || !parse_number(text.substr(0, comma), *fields[i])) return false;
        text = i < 3 ? text.substr(comma + 1) : std::string_view();
    }
    layout.given = true;
    return layout.text < layout.data && layout.data <= layout.end;
}

int smoke(const std::string& kernel_path, const std::vector<std::string>& dtbs) {
    const auto kernel = plan_test::read_file(kernel_path);
    if (kernel.empty()) {
        std::fprintf(stderr, "plan_bench: cannot read %s\n", kernel_path.c_str());
        return 1;
    }
    bool ok = true;
    std::size_t trees_planned = 0;
    for (const std::string& dtb : dtbs) {
        plan_test::Machine machine;
        machine.dtb = plan_test::read_file(dtb);
        machine.kernel = kernel;
        SimulatedMemory memory;
        auto plan = std::make_unique<Plan>();
        if (!prepare(machine, memory, {})) continue;  // a tree without room for the inputs: not this test's business
        auto result = loader_api::make_plan(machine.input, *plan, memory);
        if (!result) {
            std::fprintf(stderr, "plan_bench: %s: %s\n", dtb.c_str(), plan_test::text_of(result.error()).c_str());
            ok = false;
            continue;
        }
        ++trees_planned;
        const plan_test::Problems problems = plan_test::check_plan(*plan, memory, machine.input);
        if (!problems.ok()) std::fprintf(stderr, "plan_bench: %s:\n%s", dtb.c_str(), problems.joined().c_str());
        ok = frames_consistent(figures_of(*plan, memory), dtb) && problems.ok() && ok;
    }
    const RandomRun run = plan_random(kernel, 50, 1, true);
    print_random(run);
    // A generator whose machines never plan would measure nothing.
    ok = ok && run.failed_checks == 0 && run.planned >= run.machines / 2;
    std::printf("smoke: %zu of %zu trees planned, %" PRIu64 " random machines: %s\n", trees_planned, dtbs.size(),
                run.machines, ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}

int usage() {
    std::fprintf(stderr, "usage: plan_bench plan DTB KERNEL [--layout TEXT,DATA,END,KERNEL_AT] [--dtb-at PA] [--variants N]\n"
                         "       plan_bench random KERNEL COUNT [SEED]\n"
                         "       plan_bench --smoke KERNEL [DTB...]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() >= 2 && args[0] == "--smoke") return smoke(args[1], {args.begin() + 2, args.end()});
    if (args.size() >= 3 && args[0] == "plan") {
        Layout layout;
        std::uint64_t variants = 0;
        for (std::size_t i = 3; i < args.size(); i += 2) {
            if (i + 1 >= args.size()) return usage();
            if (args[i] == "--layout" && parse_layout(args[i + 1], layout)) continue;
            if (args[i] == "--dtb-at" && parse_number(args[i + 1], layout.dtb_at)) {
                layout.has_dtb_at = true;
                continue;
            }
            if (args[i] == "--variants" && parse_number(args[i + 1], variants)) continue;
            return usage();
        }
        return plan_one(args[1], args[2], layout, variants);
    }
    if ((args.size() == 3 || args.size() == 4) && args[0] == "random") {
        std::uint64_t count = 0, seed = 0x706c'616e;
        if (!parse_number(args[2], count) || (args.size() == 4 && !parse_number(args[3], seed))) return usage();
        const RandomRun run = plan_random(plan_test::read_file(args[1]), count, seed, false);
        print_random(run);
        return run.failed_checks == 0 && run.planned > 0 ? 0 : 1;
    }
    return usage();
}
