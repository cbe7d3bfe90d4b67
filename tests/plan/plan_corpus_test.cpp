// Plans for every device tree of the FDT test corpus (QEMU's dumps and the
// .dts files) with the PIE and the higher-half ET_EXEC test kernel, under a
// few configurations each, all checked by plan_checks.hpp. Prints the page
// table figures and KASLR position counts it saw.

#include <algorithm>

#include <doctest/doctest.h>

#include <cstdio>

#include "plan_checks.hpp"

using namespace plan_test;

namespace {

std::vector<std::string> corpus() {
    std::vector<std::string> paths = split(env("FDT_DTS_DTBS"), ':');
    const std::string list = env("FDT_QEMU_LIST");
    if (!list.empty()) {
        std::ifstream in(list);
        for (std::string line; std::getline(in, line);)
            if (!line.empty()) paths.push_back(line);
    }
    return paths;
}

struct Variant {
    const char* name;
    bool pie;
    std::uint8_t seed;  // 0: no entropy from the loader (the tree's rng-seed may still be there)
    loader_api::PagingMode preferred;
    loader_api::Kaslr kaslr;
    loader_api::HartSelection harts;
};

}  // namespace

TEST_CASE("plans for the device tree corpus pass every check") {
    const auto paths = corpus();
    REQUIRE_MESSAGE(paths.size() >= 3, "FDT_DTS_DTBS / FDT_QEMU_LIST name the corpus");
    const auto pie = read_file(env("PLAN_KERNEL_PIE"));
    const auto fixed = read_file(env("PLAN_KERNEL_STATIC"));
    REQUIRE(!pie.empty());
    REQUIRE(!fixed.empty());
    const Variant variants[] = {
        {"pie-kaslr", true, 7, loader_api::PagingMode::Sv48, loader_api::Kaslr::Enabled, loader_api::HartSelection::All},
        {"pie-kaslr-sv39", true, 9, loader_api::PagingMode::Sv39, loader_api::Kaslr::Enabled, loader_api::HartSelection::All},
        {"pie-nokaslr-sv57", true, 0, loader_api::PagingMode::Sv57, loader_api::Kaslr::Disabled, loader_api::HartSelection::BootHartOnly},
        {"static-kaslr", false, 3, loader_api::PagingMode::Sv48, loader_api::Kaslr::Enabled, loader_api::HartSelection::All},
        {"static-sv39", false, 0, loader_api::PagingMode::Sv39, loader_api::Kaslr::Default, loader_api::HartSelection::UpTo},
    };
    auto plan = std::make_unique<Plan>();
    std::size_t planned = 0;
    for (const auto& path : paths) {
        for (const Variant& variant : variants) {
            Machine machine;
            machine.dtb = read_file(path);
            machine.kernel = variant.pie ? pie : fixed;
            auto* config = config_in(machine.kernel);
            REQUIRE(config != nullptr);
            config->preferred_paging_mode = variant.preferred;
            config->kaslr = variant.kaslr;
            config->start_harts = variant.harts;
            config->max_harts = 2;
            SimulatedMemory memory;
            // Every tree of the corpus must be planned: a tree the test cannot
            // use is a failure, not a skip.
            if (!place_inputs(machine, memory)) {
                FAIL_CHECK("cannot place the inputs (unreadable tree or no 8 MiB RAM range at the bottom): " << path);
                break;
            }
            std::vector<std::uint8_t> seed(8, variant.seed);
            if (variant.seed != 0) {
                machine.input.options.entropy = seed;
                machine.input.options.entropy_sources = loader_api::kEntropyZkr;
            }
            machine.input.options.identity_map_loader = variant.seed % 2 == 1;
            CAPTURE(path);
            CAPTURE(variant.name);
            auto result = loader_api::make_plan(machine.input, *plan, memory);
            if (!result) FAIL_CHECK(text_of(result.error()));
            if (!result) continue;
            ++planned;
            const Problems problems = check_plan(*plan, memory, machine.input);
            CHECK_MESSAGE(problems.ok(), problems.joined());
            // The mode follows LoaderConfig's preference (every QEMU hart here is sv48 or better, or sv39),
            // unless RAM spans more than Sv39's higher half: a wider mode that maps it all comes first.
            std::uint64_t ram_low = ~std::uint64_t{0}, ram_high = 0;
            for (const auto& range : plan->machine.memory) {
                ram_low = std::min(ram_low, range.range.begin().value());
                ram_high = std::max(ram_high, range.range.end().value());
            }
            const bool fits_sv39 = ram_high - ram_low < (std::uint64_t{250} << 30);
            if (variant.preferred == loader_api::PagingMode::Sv39 && fits_sv39) CHECK(plan->mode == kmem::PagingModeId::Sv39);
            if (variant.preferred == loader_api::PagingMode::Sv39 && !fits_sv39) CHECK(plan->mode == kmem::PagingModeId::Sv48);
            if (!variant.pie) CHECK(plan->kaslr_slide == 0);
            const std::uint64_t minimum = loader_api::host::minimum_table_frames(*plan, memory);
            std::printf("%-28s %-17s %s tables %3llu (min %3llu) leaves 4K %5llu 2M %4llu 1G %3llu  positions physmap %llu kernel %llu stacks %llu  slide %#llx\n",
                        path.substr(path.find_last_of('/') + 1).c_str(), variant.name,
                        std::string(kmem::name(plan->mode)).c_str(),
                        static_cast<unsigned long long>(plan->stats.table_frames), static_cast<unsigned long long>(minimum),
                        static_cast<unsigned long long>(plan->stats.leaves[0]),
                        static_cast<unsigned long long>(plan->stats.leaves[1]),
                        static_cast<unsigned long long>(plan->stats.leaves[2]),
                        static_cast<unsigned long long>(plan->stats.physmap.positions),
                        static_cast<unsigned long long>(plan->stats.kernel.positions),
                        static_cast<unsigned long long>(plan->stats.stacks.positions),
                        static_cast<unsigned long long>(plan->kaslr_slide));
        }
    }
    // The project's example and test kernels, when the build has them.
    const auto example_kernels = split(env("PLAN_EXAMPLE_KERNELS"), ':');
    for (const auto& kernel_path : example_kernels) {
        for (const auto& path : paths) {
            Machine machine;
            machine.dtb = read_file(path);
            machine.kernel = read_file(kernel_path);
            SimulatedMemory memory;
            CAPTURE(path);
            CAPTURE(kernel_path);
            if (!place_inputs(machine, memory)) {
                FAIL_CHECK("cannot place the inputs");
                continue;
            }
            auto result = loader_api::make_plan(machine.input, *plan, memory);
            if (!result) {
                FAIL_CHECK(text_of(result.error()));
                continue;
            }
            ++planned;
            const Problems problems = check_plan(*plan, memory, machine.input);
            CHECK_MESSAGE(problems.ok(), problems.joined());
        }
    }
    std::printf("corpus: %zu plans checked\n", planned);
    CHECK(planned == paths.size() * (std::size(variants) + example_kernels.size()));
}

TEST_CASE("make_plan reads PlanOptions::step_counter after each step, in PlanStep order") {
    const auto paths = corpus();
    REQUIRE(!paths.empty());
    Machine machine;
    machine.dtb = read_file(paths.front());
    machine.kernel = read_file(env("PLAN_KERNEL_PIE"));
    SimulatedMemory memory;
    REQUIRE(place_inputs(machine, memory));
    auto plan = std::make_unique<Plan>();
    REQUIRE(loader_api::make_plan(machine.input, *plan, memory));
    for (const std::uint64_t count : plan->stats.step_counts) CHECK(count == 0);

    // Reading k returns k * k: the steps' differences are 1, 3, 5, ... only
    // if each step reads the counter once, in order, after one first read.
    static std::uint64_t readings = 0;
    readings = 0;
    machine.input.options.step_counter = [] {
        const std::uint64_t value = readings * readings;
        ++readings;
        return value;
    };
    REQUIRE(loader_api::make_plan(machine.input, *plan, memory));
    CHECK(readings == loader_api::kPlanStepCount + 1);
    for (std::size_t step = 0; step < loader_api::kPlanStepCount; ++step) {
        CAPTURE(step);
        CHECK(plan->stats.step_counts[step] == 2 * step + 1);
    }
}
