// Randomised machines: memory nodes from 8 MiB to 1 TiB at random places,
// /memreserve/ and /reserved-memory entries inside RAM, sparse hart ids with
// mixed MMUs and states, optional rng-seed, bootargs and initrd; random
// LoaderConfigs and probe results. Every plan must pass check_plan(); a
// rejection must be one of the errors such a machine can deserve, and is
// cross-checked where the test can tell on its own.

#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <set>

#include "../fdt/blob_builder.hpp"
#include "plan_checks.hpp"

using namespace plan_test;
using fdt_test::BlobBuilder;
using fdt_test::cells;

namespace {

constexpr std::uint64_t kMiB = 1 << 20;
constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;

std::vector<std::uint8_t> reg64(std::initializer_list<std::pair<std::uint64_t, std::uint64_t>> entries) {
    std::vector<std::uint8_t> out;
    for (auto [address, size] : entries)
        for (std::uint64_t v : {address >> 32, address & 0xffffffff, size >> 32, size & 0xffffffff})
            fdt_test::put_be32(out, static_cast<std::uint32_t>(v));
    return out;
}

struct RandomMachine {
    std::vector<std::uint8_t> dtb;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ram;  // [begin, end)
    std::uint64_t boot_hart = 0;
    bool rng_seed = false;
};

std::uint64_t log_uniform(std::mt19937_64& rng, std::uint64_t low, std::uint64_t high) {
    std::uniform_real_distribution<double> exponent(std::log2(double(low)), std::log2(double(high)));
    return static_cast<std::uint64_t>(std::exp2(exponent(rng)));
}

RandomMachine random_machine(std::mt19937_64& rng) {
    RandomMachine machine;
    auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
    auto between = [&](std::uint64_t a, std::uint64_t b) { return std::uniform_int_distribution<std::uint64_t>(a, b)(rng); };

    // RAM: the first range at 2 GiB holds the inputs; the rest follow with gaps.
    const std::size_t ranges = between(1, 5);
    std::uint64_t at = 0x8000'0000;
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < ranges; ++i) {
        const std::uint64_t align = chance(0.2) ? 4096 : chance(0.5) ? 2 * kMiB : kGiB;
        std::uint64_t size = log_uniform(rng, 8 * kMiB, i == 0 ? 1024 * kGiB : 256 * kGiB) & ~(align - 1);
        if (size < 8 * kMiB) size = 8 * kMiB;
        if (total + size > 1024 * kGiB) break;
        machine.ram.push_back({at, at + size});
        total += size;
        at = (at + size + (chance(0.5) ? 0 : log_uniform(rng, 4096, 64 * kGiB)) + align - 1) & ~(align - 1);
    }

    BlobBuilder blob;
    blob.begin("").prop("#address-cells", cells({2})).prop("#size-cells", cells({2})).prop("compatible", "test,random");
    // Harts: sparse ids, mixed MMUs, some disabled.
    const std::size_t harts = chance(0.05) ? between(33, 300) : between(1, 32);
    std::set<std::uint64_t> ids;
    while (ids.size() < harts) ids.insert(between(0, 4095));
    std::vector<std::uint64_t> id_list(ids.begin(), ids.end());
    std::shuffle(id_list.begin(), id_list.end(), rng);
    static const char* kMmus[] = {"riscv,sv39", "riscv,sv48", "riscv,sv57", "riscv,sv48", "riscv,none"};
    blob.begin("cpus").prop("#address-cells", cells({1})).prop("#size-cells", cells({0}));
    if (chance(0.9)) blob.prop("timebase-frequency", cells({10'000'000}));
    bool have_boot = false;
    for (std::uint64_t id : id_list) {
        const bool enabled = chance(0.9);
        const bool has_mmu = chance(0.95);
        const std::string mmu = kMmus[between(0, 4)];
        blob.begin("cpu@" + std::to_string(id)).prop("device_type", "cpu").prop("reg", cells({static_cast<std::uint32_t>(id)}));
        blob.prop("status", enabled ? "okay" : "disabled").prop("riscv,isa", "rv64imafdc");
        if (has_mmu) blob.prop("mmu-type", mmu);
        blob.end();
        if (!have_boot && enabled && has_mmu && mmu != "riscv,none") {
            have_boot = true;
            machine.boot_hart = id;
        }
    }
    if (!have_boot) {  // one usable hart, so the machine can boot at all
        machine.boot_hart = 5000;
        blob.begin("cpu@5000").prop("device_type", "cpu").prop("reg", cells({5000})).prop("status", "okay");
        blob.prop("mmu-type", "riscv,sv48").end();
    }
    blob.end();
    for (auto [begin, end] : machine.ram) {
        std::ostringstream name;
        name << "memory@" << std::hex << begin;
        blob.begin(name.str()).prop("device_type", "memory").prop("reg", reg64({{begin, end - begin}})).end();
    }
    // Reserved memory anywhere in RAM, sometimes not page-aligned.
    auto random_in_ram = [&](std::uint64_t size) {
        const auto& [begin, end] = machine.ram[between(0, machine.ram.size() - 1)];
        std::uint64_t where = between(begin, end - size);
        if (chance(0.7)) where &= ~std::uint64_t{4095};
        return where;
    };
    blob.begin("reserved-memory").prop("#address-cells", cells({2})).prop("#size-cells", cells({2})).prop("ranges", std::vector<std::uint8_t>{});
    const std::size_t reserved = between(0, 4);
    for (std::size_t i = 0; i < reserved; ++i) {
        const std::uint64_t size = log_uniform(rng, 4096, 4 * kMiB);
        const std::uint64_t where = random_in_ram(size);
        std::ostringstream name;
        name << "region@" << std::hex << where;
        blob.begin(name.str()).prop("reg", reg64({{where, size}}));
        if (chance(0.5)) blob.prop("no-map", std::vector<std::uint8_t>{});
        blob.end();
    }
    if (chance(0.2)) blob.begin("pool").prop("size", cells({0, 0x100000})).prop("reusable", std::vector<std::uint8_t>{}).end();
    blob.end();
    for (std::size_t i = between(0, 2); i > 0; --i) {
        const std::uint64_t size = log_uniform(rng, 4096, kMiB);
        blob.reserve(random_in_ram(size), size);
    }
    blob.begin("chosen");
    if (chance(0.7)) {
        std::vector<std::uint8_t> seed(32);
        for (auto& byte : seed) byte = static_cast<std::uint8_t>(rng());
        blob.prop("rng-seed", seed);
        machine.rng_seed = true;
    }
    if (chance(0.5)) blob.prop("bootargs", "console=ttyS0 loader.random=" + std::to_string(rng() % 100000));
    if (chance(0.3)) {
        const std::uint64_t begin = machine.ram[0].first + 6 * kMiB + between(0, 1000) * 8;
        const std::uint64_t end = begin + between(1, 512 * 1024);
        blob.prop("linux,initrd-start", cells({static_cast<std::uint32_t>(begin >> 32), static_cast<std::uint32_t>(begin)}));
        blob.prop("linux,initrd-end", cells({static_cast<std::uint32_t>(end >> 32), static_cast<std::uint32_t>(end)}));
    }
    blob.end();
    blob.end();
    machine.dtb = blob.finish();
    return machine;
}

loader_api::PagingMode random_mode(std::mt19937_64& rng) {
    return static_cast<loader_api::PagingMode>(8 + rng() % 3);
}

}  // namespace

TEST_CASE("randomised machines plan and pass every check") {
    const auto pie = read_file(env("PLAN_KERNEL_PIE"));
    const auto fixed = read_file(env("PLAN_KERNEL_STATIC"));
    REQUIRE(!pie.empty());
    REQUIRE(!fixed.empty());
    std::mt19937_64 rng(0x5eed'0001);
    auto plan = std::make_unique<Plan>();
    std::map<std::string, std::size_t> outcomes;
    std::size_t passed = 0;
    std::uint64_t table_frames = 0, positions_min = ~std::uint64_t{0};
    const auto start = std::chrono::steady_clock::now();
    // About 25 s under ASan on the shared build machine; the count is printed.
    const auto budget = std::chrono::seconds(std::atoi(env("PLAN_RANDOM_SECONDS").empty() ? "25" : env("PLAN_RANDOM_SECONDS").c_str()));
    std::size_t iteration = 0;
    for (; iteration < 20000 && std::chrono::steady_clock::now() - start < budget; ++iteration) {
        RandomMachine random = random_machine(rng);
        Machine machine;
        machine.dtb = random.dtb;
        machine.kernel = rng() % 2 ? pie : fixed;
        auto* config = config_in(machine.kernel);
        REQUIRE(config != nullptr);
        const std::uint64_t stacks[] = {4096, 16384, 65536, 262144};
        config->stack_size = stacks[rng() % 4];
        loader_api::PagingMode a = random_mode(rng), b = random_mode(rng);
        if (a > b) std::swap(a, b);
        config->min_paging_mode = a;
        config->max_paging_mode = b;
        config->preferred_paging_mode = random_mode(rng);
        config->kaslr = static_cast<loader_api::Kaslr>(rng() % 3);
        config->start_harts = static_cast<loader_api::HartSelection>(rng() % 3);
        config->max_harts = static_cast<std::uint32_t>(rng() % 9);
        SimulatedMemory memory;
        REQUIRE(place_inputs(machine, memory));
        auto& options = machine.input.options;
        options.boot_hart_id = random.boot_hart;
        options.supported_modes = {};
        while (options.supported_modes.empty())
            for (auto mode : {kmem::PagingModeId::Sv39, kmem::PagingModeId::Sv48, kmem::PagingModeId::Sv57})
                if (rng() % 4 != 0) options.supported_modes.add(mode);
        if (rng() % 5 == 0) {
            options.has_mode_cap = true;
            options.mode_cap = static_cast<kmem::PagingModeId>(rng() % 3);
        }
        std::vector<std::uint8_t> entropy(rng() % 3 == 0 ? 16 : 0, static_cast<std::uint8_t>(rng()));
        options.entropy = entropy;
        options.entropy_sources = loader_api::kEntropyZkr;
        options.identity_map_loader = rng() % 2 == 0;

        // Which modes could work at all, by the rule LoaderConfig documents
        // (the boot hart's probe outranks its own mmu-type).
        bool some_mode = false;
        for (unsigned m = static_cast<unsigned>(a) - 8; m <= static_cast<unsigned>(b) - 8; ++m)
            some_mode = some_mode || (options.supported_modes.contains(static_cast<kmem::PagingModeId>(m)) &&
                                      (!options.has_mode_cap || m <= static_cast<unsigned>(options.mode_cap)));

        CAPTURE(iteration);
        auto result = loader_api::make_plan(machine.input, *plan, memory);
        if (!result) {
            const auto code = result.error().code;
            ++outcomes[std::string(loader_api::to_string(code))];
            if (code == loader_api::PlanErrorCode::NoPagingMode) {
                CHECK_MESSAGE(!some_mode, "NoPagingMode although a mode was allowed");
                continue;
            }
            CHECK_MESSAGE(some_mode, "planned past an impossible mode choice: " << text_of(result.error()));
            // A known limit of the layout (issue note, session 6): a kernel
            // that cannot move, fixed at -2 GiB, beside a physmap that
            // nearly fills Sv39's higher half, is refused by name instead of
            // the physmap being cut shorter. Seen once in 8,954 machines.
            const bool fixed_beside_big_physmap =
                code == loader_api::PlanErrorCode::KernelDoesNotFit &&
                result.error().what == std::string_view("no room beside the physmap") &&
                !loader_api::ElfFile::parse(as_bytes(machine.kernel))->is_pie();
            const bool expected = code == loader_api::PlanErrorCode::OutOfMemory ||
                                  code == loader_api::PlanErrorCode::RamTooLargeForPhysmap || fixed_beside_big_physmap;
            CHECK_MESSAGE(expected, text_of(result.error()));
            if (code == loader_api::PlanErrorCode::RamTooLargeForPhysmap || fixed_beside_big_physmap)
                CHECK(random.ram.back().second - (random.ram.front().first & ~(kGiB - 1)) > (std::uint64_t{1} << 37));
            continue;
        }
        CHECK_MESSAGE(some_mode, "a plan although no mode was allowed");
        ++outcomes["planned"];
        const Problems problems = check_plan(*plan, memory, machine.input);
        CHECK_MESSAGE(problems.ok(), problems.joined());
        if (problems.ok()) ++passed;
        // Every started hart and the BootInfo's hart table agree.
        std::size_t started = 0;
        for (const auto& hart : plan->boot_info().hart_table()) started += hart.state == loader_api::HartState::Started;
        CHECK(started >= 1);
        table_frames += plan->stats.table_frames;
        if (plan->stats.kernel.randomised && plan->stats.kernel.positions < positions_min)
            positions_min = plan->stats.kernel.positions;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("random machines: %zu in %.1f s, %zu planned and checked; outcomes:", iteration, seconds, passed);
    for (const auto& [name, count] : outcomes) std::printf(" %s %zu", name.c_str(), count);
    std::printf("\n  mean table frames %.1f, fewest KASLR kernel positions %llu\n",
                passed ? double(table_frames) / double(passed) : 0.0, static_cast<unsigned long long>(positions_min));
    CHECK(iteration >= 200);
    CHECK(passed >= iteration / 2);
}
