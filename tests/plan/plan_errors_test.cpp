// Error paths of the planner, each with its named error, and the behaviour
// around them: determinism, the post-planning updates, warnings, and a
// proof that check_plan() notices a broken plan.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <optional>
#include <source_location>
#include <tuple>

#include "../fdt/blob_builder.hpp"
#include "plan_checks.hpp"

using namespace plan_test;
using fdt_test::BlobBuilder;
using fdt_test::cells;
using loader_api::PlanErrorCode;

namespace {

constexpr std::uint64_t kMiB = 1 << 20;

struct Hart {
    std::uint32_t id;
    const char* mmu;  // nullptr: no mmu-type
    const char* status = "okay";
};

std::vector<std::uint8_t> machine_dtb(std::vector<std::pair<std::uint64_t, std::uint64_t>> ram, std::vector<Hart> harts,
                                      std::vector<std::pair<std::uint64_t, std::uint64_t>> memreserve = {},
                                      bool rng_seed = true,
                                      const std::function<void(BlobBuilder&)>& more_chosen = {}) {
    BlobBuilder blob;
    blob.begin("").prop("#address-cells", cells({2})).prop("#size-cells", cells({2}));
    blob.begin("cpus").prop("#address-cells", cells({1})).prop("#size-cells", cells({0}));
    blob.prop("timebase-frequency", cells({10'000'000}));
    for (const Hart& hart : harts) {
        blob.begin("cpu@" + std::to_string(hart.id)).prop("device_type", "cpu").prop("reg", cells({hart.id}));
        blob.prop("status", hart.status);
        if (hart.mmu != nullptr) blob.prop("mmu-type", hart.mmu);
        blob.end();
    }
    blob.end();
    for (auto [begin, size] : ram) {
        blob.begin("memory@" + std::to_string(begin)).prop("device_type", "memory");
        blob.prop("reg", cells({static_cast<std::uint32_t>(begin >> 32), static_cast<std::uint32_t>(begin),
                                static_cast<std::uint32_t>(size >> 32), static_cast<std::uint32_t>(size)}));
        blob.end();
    }
    blob.begin("chosen");
    if (rng_seed) blob.prop("rng-seed", std::vector<std::uint8_t>(32, 0x42));
    blob.prop("bootargs", "console=ttyS0");
    if (more_chosen) more_chosen(blob);
    blob.end();
    blob.end();
    for (auto [address, size] : memreserve) blob.reserve(address, size);
    return blob.finish();
}

std::vector<std::uint8_t> kernel(bool pie) { return read_file(env(pie ? "PLAN_KERNEL_PIE" : "PLAN_KERNEL_STATIC")); }

struct Run {
    Machine machine;
    std::unique_ptr<SimulatedMemory> memory = std::make_unique<SimulatedMemory>();
    std::unique_ptr<Plan> plan = std::make_unique<Plan>();
    kmem::Expected<void, loader_api::PlanError> result = kmem::unexpected(loader_api::PlanError{});
};

// Plans `dtb` with `kernel_bytes`; `tweak` may change the config and the input first.
template <class F>
std::unique_ptr<Run> plan(std::vector<std::uint8_t> dtb, std::vector<std::uint8_t> kernel_bytes, F&& tweak) {
    auto run = std::make_unique<Run>();
    run->machine.dtb = std::move(dtb);
    run->machine.kernel = std::move(kernel_bytes);
    REQUIRE(place_inputs(run->machine, *run->memory));
    tweak(run->machine);
    // The tweak may have patched the kernel: memory must hold what the input says.
    run->memory->store(run->machine.input.kernel_address, run->machine.input.kernel);
    run->result = loader_api::make_plan(run->machine.input, *run->plan, *run->memory);
    return run;
}
std::unique_ptr<Run> plan(std::vector<std::uint8_t> dtb, std::vector<std::uint8_t> kernel_bytes) {
    return plan(std::move(dtb), std::move(kernel_bytes), [](Machine&) {});
}

const std::vector<std::pair<std::uint64_t, std::uint64_t>> kRam128M = {{0x8000'0000, 128 * kMiB}};
const std::vector<Hart> kFourHarts = {{0, "riscv,sv48"}, {1, "riscv,sv48"}, {2, "riscv,sv57"}, {3, "riscv,sv39"}};

std::string error_text(const Run& run) { return run.result ? std::string("(planned)") : text_of(run.result.error()); }

// elfldltl's ExpectedSingleError: a refusal is checked as the user reads it,
// whole, with its code; a changed word in a message fails here.
template <class T>
void expect_error(const kmem::Expected<T, loader_api::PlanError>& result, PlanErrorCode code, const std::string& text,
                  std::source_location where = std::source_location::current()) {
    INFO("expected at line " << where.line());
    REQUIRE_MESSAGE(!result, "no error; expected: " << text);
    CHECK(result.error().code == code);
    CHECK(text_of(result.error()) == text);
}
void expect_error(const Run& run, PlanErrorCode code, const std::string& text,
                  std::source_location where = std::source_location::current()) {
    expect_error(run.result, code, text, where);
}

std::optional<loader_api::MemoryRegionKind> kind_at(const loader_api::BootInfo& info, std::uint64_t address) {
    for (const auto& region : info.regions())
        if (region.range.get().contains(kmem::PhysicalAddress(address))) return region.kind;
    return std::nullopt;
}

std::vector<std::string> warning_texts(const Plan& plan) {
    std::vector<std::string> texts;
    for (const auto& warning : plan.warnings) texts.push_back(text_of(warning));
    return texts;
}

}  // namespace

TEST_CASE("a plain machine plans, passes the checks, and is deterministic") {
    auto first = plan(machine_dtb(kRam128M, kFourHarts), kernel(true));
    REQUIRE_MESSAGE(first->result, error_text(*first));
    const Problems problems = check_plan(*first->plan, *first->memory, first->machine.input);
    CHECK_MESSAGE(problems.ok(), problems.joined());
    // The default preference is Sv48; hart 3 reaches only Sv39, so it is
    // listed as Unusable with a warning.
    CHECK(first->plan->mode == kmem::PagingModeId::Sv48);
    REQUIRE(first->plan->boot_info().find_hart(3) != nullptr);
    CHECK(first->plan->boot_info().find_hart(3)->state == loader_api::HartState::Unusable);
    CHECK(first->plan->boot_info().find_hart(3)->stack.empty());
    bool warned = false;
    for (const auto& warning : first->plan->warnings)
        warned = warned || (warning.code == loader_api::WarningCode::HartWithoutPagingMode && warning.value == 3);
    CHECK(warned);
    CHECK(first->plan->kaslr);

    auto second = plan(machine_dtb(kRam128M, kFourHarts), kernel(true));
    REQUIRE(second->result);
    CHECK(first->plan->satp == second->plan->satp);
    CHECK(first->plan->kaslr_slide == second->plan->kaslr_slide);
    CHECK(std::memcmp(first->plan->boot_info_bytes.data(), second->plan->boot_info_bytes.data(),
                      first->plan->boot_info_size) == 0);

    // Other entropy, other positions (and other random bytes).
    auto third = plan(machine_dtb(kRam128M, kFourHarts), kernel(true), [](Machine& m) {
        static const std::vector<std::uint8_t> extra = {1, 2, 3};
        m.input.options.entropy = extra;
        m.input.options.entropy_sources = loader_api::kEntropyZkr;  // as the loader's own source would
    });
    REQUIRE(third->result);
    CHECK(third->plan->kaslr_slide != first->plan->kaslr_slide);
    CHECK(std::memcmp(third->plan->boot_info().random, first->plan->boot_info().random, 32) != 0);
}

TEST_CASE("a device tree the caller already read gives the same plan") {
    auto walked = plan(machine_dtb(kRam128M, kFourHarts), kernel(true));
    REQUIRE_MESSAGE(walked->result, error_text(*walked));
    // Read elsewhere, or into the plan's own MachineInfo as the loader does.
    auto read_once = std::make_unique<loader_api::fdt::MachineInfo>();
    const auto dtb = machine_dtb(kRam128M, kFourHarts);
    REQUIRE(loader_api::fdt::read_machine_info(loader_api::fdt::Bytes(dtb.data(), dtb.size()), *read_once));
    auto given = plan(dtb, kernel(true), [&](Machine& m) { m.input.machine = read_once.get(); });
    REQUIRE_MESSAGE(given->result, error_text(*given));
    auto in_place = std::make_unique<Run>();
    in_place->machine.dtb = dtb;
    in_place->machine.kernel = kernel(true);
    REQUIRE(place_inputs(in_place->machine, *in_place->memory));
    REQUIRE(loader_api::fdt::read_machine_info(loader_api::fdt::Bytes(dtb.data(), dtb.size()), in_place->plan->machine));
    in_place->machine.input.machine = &in_place->plan->machine;
    in_place->result = loader_api::make_plan(in_place->machine.input, *in_place->plan, *in_place->memory);
    REQUIRE_MESSAGE(in_place->result, error_text(*in_place));
    for (const Run* run : {given.get(), in_place.get()}) {
        CHECK(run->plan->satp == walked->plan->satp);
        CHECK(run->plan->machine.harts.size() == walked->plan->machine.harts.size());
        REQUIRE(run->plan->boot_info_size == walked->plan->boot_info_size);
        CHECK(std::memcmp(run->plan->boot_info_bytes.data(), walked->plan->boot_info_bytes.data(),
                          walked->plan->boot_info_size) == 0);
        const Problems problems = check_plan(*run->plan, *run->memory, run->machine.input);
        CHECK_MESSAGE(problems.ok(), problems.joined());
    }
    // The planner really takes the given MachineInfo rather than walking the tree again.
    read_once->timebase_frequency = 12'345'678;
    for (auto& hart : read_once->harts) hart.timebase_frequency = 12'345'678;
    auto altered = plan(dtb, kernel(true), [&](Machine& m) { m.input.machine = read_once.get(); });
    REQUIRE_MESSAGE(altered->result, error_text(*altered));
    CHECK(altered->plan->boot_info().timebase_frequency == 12'345'678);
}

TEST_CASE("after planning: a failed hart and the handoff time reach BootInfo") {
    auto run = plan(machine_dtb(kRam128M, kFourHarts), kernel(true));
    REQUIRE(run->result);
    Plan& p = *run->plan;
    REQUIRE(loader_api::mark_hart_failed(p, 2, -3, *run->memory));
    CHECK(p.find_hart(2)->state == loader_api::HartState::Failed);
    CHECK(p.boot_info().find_hart(2)->sbi_error == -3);
    expect_error(loader_api::mark_hart_failed(p, 0, -3, *run->memory), PlanErrorCode::UnknownHart, "plan: hart 0 is the boot hart, which cannot fail");
    expect_error(loader_api::mark_hart_failed(p, 77, -3, *run->memory), PlanErrorCode::UnknownHart, "plan: hart 77 is not a started hart of the plan");
    loader_api::set_handoff_timestamps(p, 5000, 9000, *run->memory);
    CHECK(loader_api::validate(p.boot_info(), p.boot_info_size));
    // The failed hart keeps its stack: still mapped, still in BootInfo, and
    // the kernel's audit accepts it (a CI boot once failed here).
    const loader_api::HartInfo& failed = *p.boot_info().find_hart(2);
    CHECK(failed.owns_stack());
    CHECK(!failed.stack.empty());
    const Problems problems = check_plan(p, *run->memory, run->machine.input);
    CHECK_MESSAGE(problems.ok(), problems.joined());
    const auto in_memory = run->memory->load(p.boot_info_physical, p.boot_info_size);
    const auto* info = reinterpret_cast<const loader_api::BootInfo*>(in_memory.data());
    CHECK(info->timestamps.handoff_time == 5000);
    CHECK(info->find_hart(2)->state == loader_api::HartState::Failed);
}

TEST_CASE("warnings: no entropy, and KASLR for a kernel that cannot move") {
    auto run = plan(machine_dtb(kRam128M, kFourHarts, {}, false), kernel(true));
    REQUIRE(run->result);
    CHECK(!run->plan->kaslr);
    CHECK(run->plan->warnings.size() >= 1);
    bool no_entropy = false;
    for (const auto& warning : run->plan->warnings) no_entropy = no_entropy || warning.code == loader_api::WarningCode::NoEntropy;
    CHECK(no_entropy);
    CHECK(check_plan(*run->plan, *run->memory, run->machine.input).ok());

    auto fixed = plan(machine_dtb(kRam128M, kFourHarts), kernel(false), [](Machine& m) {
        config_in(m.kernel)->kaslr = loader_api::Kaslr::Enabled;
    });
    REQUIRE(fixed->result);
    CHECK(fixed->plan->kaslr_slide == 0);
    CHECK(!fixed->plan->kaslr);
    CHECK(fixed->plan->stats.physmap.randomised);
    bool not_relocatable = false;
    for (const auto& warning : fixed->plan->warnings)
        not_relocatable = not_relocatable || warning.code == loader_api::WarningCode::KernelNotRelocatable;
    CHECK(not_relocatable);
    CHECK(text_of(fixed->plan->warnings[0]) ==
          "plan warning: KASLR asked for, but the kernel is not position-independent (ET_EXEC): it stays at "
          "0xffffffff80000000; physmap and stacks are still randomised");

    // Kaslr::Default (0) is the loader's choice, not the kernel's: a kernel
    // that cannot move is not warned about it, whatever that default is.
    for (const bool loader_default : {true, false}) {
        for (const auto kaslr : {loader_api::Kaslr::Default, loader_api::Kaslr::Disabled}) {
            auto quiet = plan(machine_dtb(kRam128M, kFourHarts), kernel(false), [&](Machine& m) {
                config_in(m.kernel)->kaslr = kaslr;
                m.input.options.kaslr_default = loader_default;
            });
            REQUIRE_MESSAGE(quiet->result, error_text(*quiet));
            CHECK(quiet->plan->kaslr_slide == 0);
            CHECK(quiet->plan->stats.physmap.randomised == (loader_default && kaslr == loader_api::Kaslr::Default));
            for (const auto& warning : quiet->plan->warnings)
                CHECK_MESSAGE(warning.code != loader_api::WarningCode::KernelNotRelocatable, text_of(warning));
        }
    }
}

// loader.kaslr=off (./dev.sh debug): the plan of a kernel whose LoaderConfig
// asks for KASLR, entropy at hand, is the plan of one that disabled it: the
// same slide (a PIE still moves to the higher half), nothing randomised, the
// same warnings.
TEST_CASE("kaslr_off outranks LoaderConfig's Kaslr::Enabled") {
    auto run = plan(machine_dtb(kRam128M, kFourHarts), kernel(true), [](Machine& m) {
        config_in(m.kernel)->kaslr = loader_api::Kaslr::Enabled;
        m.input.options.kaslr_off = true;
    });
    REQUIRE_MESSAGE(run->result, error_text(*run));
    auto disabled = plan(machine_dtb(kRam128M, kFourHarts), kernel(true), [](Machine& m) {
        config_in(m.kernel)->kaslr = loader_api::Kaslr::Disabled;
    });
    REQUIRE_MESSAGE(disabled->result, error_text(*disabled));
    CHECK(!run->plan->kaslr);
    CHECK(run->plan->kaslr_slide == disabled->plan->kaslr_slide);
    CHECK(!run->plan->stats.kernel.randomised);
    CHECK(!run->plan->stats.physmap.randomised);
    CHECK(warning_texts(*run->plan) == warning_texts(*disabled->plan));
    CHECK(check_plan(*run->plan, *run->memory, run->machine.input).ok());
    // Without it the same machine is randomised: the option is what changed.
    auto randomised = plan(machine_dtb(kRam128M, kFourHarts), kernel(true), [](Machine& m) {
        config_in(m.kernel)->kaslr = loader_api::Kaslr::Enabled;
    });
    REQUIRE_MESSAGE(randomised->result, error_text(*randomised));
    CHECK(randomised->plan->kaslr);
    CHECK(randomised->plan->kaslr_slide != disabled->plan->kaslr_slide);
}

TEST_CASE("out of memory: nothing free besides the inputs") {
    // RAM of 8 MiB, all of it reserved except the inputs' own pages.
    const std::uint64_t base = 0x8000'0000;
    auto kernel_bytes = kernel(true);
    const std::uint64_t kernel_end = (base + 2 * kMiB + 0x30000 + kernel_bytes.size() + 4095) & ~std::uint64_t{4095};
    auto dtb = machine_dtb({{base, 8 * kMiB}}, kFourHarts,
                           {{base, 2 * kMiB}, {kernel_end, base + 5 * kMiB - kernel_end}, {base + 5 * kMiB + 16384, 3 * kMiB - 16384}});
    auto run = plan(dtb, kernel_bytes);
    // The segment's size and what is left beside it depend on the compiler
    // that built the kernel: the allocator's own words (kmem's tests check
    // them) after the planner's.
    REQUIRE(!run->result);
    REQUIRE(run->result.error().as<kmem::AllocError>() != nullptr);
    expect_error(*run, PlanErrorCode::OutOfMemory,
                 "plan: not enough memory for kernel segment (copy): " + text_of(*run->result.error().as<kmem::AllocError>()));
    CHECK(run->result.error().what == "kernel segment (copy)");
    CHECK(run->result.error().as<kmem::AllocError>()->largest_free.size() < 16384);
}

TEST_CASE("out of memory: the stacks do not fit") {
    auto run = plan(machine_dtb({{0x8000'0000, 8 * kMiB}}, kFourHarts), kernel(true), [](Machine& m) {
        config_in(m.kernel)->stack_size = 4 * kMiB;
    });
    expect_error(*run, PlanErrorCode::OutOfMemory, "plan: not enough memory for stack: frame allocator: no free block of 4 MiB aligned to 0x1000 in "
                 "[0x0, 0xffffffffffffffff) (largest free block [0x80501000, 0x80800000), 3068 KiB)");
    CHECK(run->result.error().what == "stack");
    REQUIRE(run->result.error().as<kmem::AllocError>() != nullptr);
    CHECK(run->result.error().as<kmem::AllocError>()->size == 4 * kMiB);
}

TEST_CASE("a kernel without .loader_config, or with a broken one") {
    auto bytes = kernel(true);
    const std::string name = ".loader_config";
    auto at = std::search(bytes.begin(), bytes.end(), name.begin(), name.end());
    REQUIRE(at != bytes.end());
    auto renamed = bytes;
    renamed[static_cast<std::size_t>(at - bytes.begin()) + name.size() - 1] = 'X';
    auto missing = plan(machine_dtb(kRam128M, kFourHarts), renamed);
    expect_error(*missing, PlanErrorCode::MissingLoaderConfig,
                 "plan: the kernel has no .loader_config section (declare it with LOADER_API_KERNEL)");

    auto bad = plan(machine_dtb(kRam128M, kFourHarts), bytes, [](Machine& m) { config_in(m.kernel)->magic ^= 1; });
    expect_error(*bad, PlanErrorCode::BadLoaderConfig, "plan: bad .loader_config: magic is 0x47464e4f4352444d (expected 0x47464e4f4352444c)");

    auto stack = plan(machine_dtb(kRam128M, kFourHarts), bytes, [](Machine& m) { config_in(m.kernel)->stack_size = 1000; });
    expect_error(*stack, PlanErrorCode::BadLoaderConfig,
                 "plan: bad .loader_config: stack_size (a multiple of 4 KiB) is 0x3e8 (expected 0x10000)");
}

TEST_CASE("a LoaderConfig enum value the protocol does not name is refused, listing those it does") {
    auto kaslr = plan(machine_dtb(kRam128M, kFourHarts), kernel(true),
                      [](Machine& m) { config_in(m.kernel)->kaslr = static_cast<loader_api::Kaslr>(3); });
    expect_error(*kaslr, PlanErrorCode::BadLoaderConfig,
                 "plan: bad .loader_config: kaslr is 3 (accepted: 0 Default, 1 Enabled, 2 Disabled)");
    auto harts = plan(machine_dtb(kRam128M, kFourHarts), kernel(true),
                      [](Machine& m) { config_in(m.kernel)->start_harts = static_cast<loader_api::HartSelection>(0x100); });
    expect_error(*harts, PlanErrorCode::BadLoaderConfig,
                 "plan: bad .loader_config: start_harts is 256 (accepted: 0 All, 1 BootHartOnly, 2 UpTo)");
    auto log = plan(machine_dtb(kRam128M, kFourHarts), kernel(true),
                    [](Machine& m) { config_in(m.kernel)->log_level = static_cast<loader_api::LogLevel>(5); });
    expect_error(*log, PlanErrorCode::BadLoaderConfig,
                 "plan: bad .loader_config: log_level is 5 (accepted: 0 Default, 1 Error, 2 Warn, 3 Info, 4 Debug)");
    // The last named values are accepted.
    auto last = plan(machine_dtb(kRam128M, kFourHarts), kernel(true), [](Machine& m) {
        config_in(m.kernel)->kaslr = loader_api::Kaslr::Disabled;
        config_in(m.kernel)->start_harts = loader_api::HartSelection::UpTo;
        config_in(m.kernel)->log_level = loader_api::LogLevel::Debug;
    });
    REQUIRE_MESSAGE(last->result, error_text(*last));
}

TEST_CASE("a W+X kernel is refused unless its config allows it") {
    auto bytes = kernel(false);
    auto elf = loader_api::ElfFile::parse(as_bytes(bytes));
    REQUIRE(elf);
    const std::uint64_t phoff = [&] {
        std::uint64_t v = 0;
        std::memcpy(&v, bytes.data() + 32, 8);
        return v;
    }();
    std::optional<loader_api::Segment> patched;
    for (const auto segment : elf->load_segments()) {
        if (!segment.executable()) continue;
        bytes[phoff + segment.index * 56 + 4] |= 2;  // p_flags |= PF_W
        patched = segment;
        break;
    }
    REQUIRE(patched);
    auto refused = plan(machine_dtb(kRam128M, kFourHarts), bytes);
    expect_error(*refused, PlanErrorCode::WriteExecute, "plan: the kernel has a writable and executable segment and LoaderConfig.allow_write_execute is 0: elf: "
                 "PT_LOAD segment " + std::to_string(patched->index) + " at " + hex(patched->vaddr.value()) + " size " +
                     hex(patched->memsz) + " is both writable and executable");
    const auto* cause = refused->result.error().as<loader_api::ElfError>();
    REQUIRE(cause != nullptr);
    CHECK(cause->code == loader_api::ElfErrorCode::WriteExecute);

    auto allowed = plan(machine_dtb(kRam128M, kFourHarts), bytes, [](Machine& m) { config_in(m.kernel)->allow_write_execute = 1; });
    REQUIRE_MESSAGE(allowed->result, error_text(*allowed));
    CHECK(check_plan(*allowed->plan, *allowed->memory, allowed->machine.input).ok());
    const auto leaves = loader_api::host::collect_leaves(*allowed->plan, *allowed->memory);
    const auto* entry = loader_api::host::find_leaf(leaves, allowed->plan->entry);
    REQUIRE(entry != nullptr);
    CHECK((entry->pte.writable() && entry->pte.executable()));
}

TEST_CASE("an unsupported relocation is named") {
    auto bytes = kernel(true);
    auto elf = loader_api::ElfFile::parse(as_bytes(bytes));
    REQUIRE(elf);
    REQUIRE(elf->dynamic().rela.present);
    bytes[elf->dynamic().rela.file_offset + 8] = 7;  // r_info type: R_RISCV_TLS_DTPMOD64
    std::uint64_t target = 0;
    std::memcpy(&target, bytes.data() + elf->dynamic().rela.file_offset, 8);  // r_offset
    auto run = plan(machine_dtb(kRam128M, kFourHarts), bytes);
    expect_error(*run, PlanErrorCode::Relocation, "plan: kernel relocation: elf: unsupported relocation type 7 (R_RISCV_TLS_DTPMOD64) at DT_RELA index 0, "
                 "target " + hex(target));
    const auto* cause = run->result.error().as<loader_api::ElfError>();
    REQUIRE(cause != nullptr);
    CHECK(cause->code == loader_api::ElfErrorCode::UnsupportedRelocation);
}

TEST_CASE("no hart can run S-mode, or the boot hart is missing") {
    auto none = plan(machine_dtb(kRam128M, {{0, "riscv,none"}, {1, "riscv,sv48"}}), kernel(true),
                     [](Machine& m) { m.input.options.boot_hart_id = 0; });
    expect_error(*none, PlanErrorCode::NoSModeHart, "plan: no hart can run the kernel in S-mode: the boot hart 0 has an mmu-type without Sv39/Sv48/Sv57");
    auto no_mmu = plan(machine_dtb(kRam128M, {{0, nullptr}}), kernel(true));
    expect_error(*no_mmu, PlanErrorCode::NoSModeHart, "plan: no hart can run the kernel in S-mode: the boot hart 0 has no mmu-type (no MMU for S-mode "
                 "paging)");
    auto disabled = plan(machine_dtb(kRam128M, {{0, "riscv,sv48", "disabled"}, {1, "riscv,sv48"}}), kernel(true),
                         [](Machine& m) { m.input.options.boot_hart_id = 0; });
    expect_error(*disabled, PlanErrorCode::NoSModeHart, "plan: no hart can run the kernel in S-mode: the boot hart 0 is not enabled (status)");
    auto missing = plan(machine_dtb(kRam128M, kFourHarts), kernel(true), [](Machine& m) { m.input.options.boot_hart_id = 9; });
    expect_error(*missing, PlanErrorCode::BootHartNotFound, "plan: the boot hart 9 is not under /cpus");
}

TEST_CASE("no paging mode in the allowed range") {
    auto run = plan(machine_dtb(kRam128M, kFourHarts), kernel(true), [](Machine& m) {
        auto* config = config_in(m.kernel);
        config->min_paging_mode = config->max_paging_mode = config->preferred_paging_mode = loader_api::PagingMode::Sv57;
        m.input.options.supported_modes = loader_api::PagingModeSet{}.add(kmem::PagingModeId::Sv39).add(kmem::PagingModeId::Sv48);
    });
    expect_error(*run, PlanErrorCode::NoPagingMode, "plan: no paging mode in the allowed range: the boot hart supports none of LoaderConfig's "
                 "[min_paging_mode, max_paging_mode]");
    // The command-line cap alone can do it too.
    auto capped = plan(machine_dtb(kRam128M, kFourHarts), kernel(true), [](Machine& m) {
        config_in(m.kernel)->min_paging_mode = loader_api::PagingMode::Sv48;
        m.input.options.has_mode_cap = true;
        m.input.options.mode_cap = kmem::PagingModeId::Sv39;
    });
    expect_error(*capped, PlanErrorCode::NoPagingMode, "plan: no paging mode in the allowed range: LoaderConfig's range, the hart's modes and loader.paging= "
                 "exclude every mode");
}

TEST_CASE("RAM too large for the physmap: a wider mode first, else the RAM beyond is UsableUnmapped") {
    const std::vector<std::pair<std::uint64_t, std::uint64_t>> big = {{0x8000'0000, 64 * kMiB},
                                                                      {std::uint64_t{400} << 30, 64 * kMiB}};
    auto sv39 = plan(machine_dtb(big, kFourHarts), kernel(true), [](Machine& m) {
        config_in(m.kernel)->max_paging_mode = loader_api::PagingMode::Sv39;
        config_in(m.kernel)->preferred_paging_mode = loader_api::PagingMode::Sv39;
    });
    REQUIRE_MESSAGE(sv39->result, error_text(*sv39));
    CHECK(sv39->plan->mode == kmem::PagingModeId::Sv39);
    const loader_api::BootInfo& info = sv39->plan->boot_info();
    const auto regions = info.regions();
    REQUIRE(!regions.empty());
    CHECK(regions.back().kind == loader_api::MemoryRegionKind::UsableUnmapped);
    CHECK(regions.back().range.begin == std::uint64_t{400} << 30);
    CHECK(info.physmap.end - info.physmap_offset <= (std::uint64_t{2} << 30) + (std::uint64_t{256} << 30));
    bool warned = false;
    for (const auto& text : warning_texts(*sv39->plan))
        warned = warned || text == "plan warning: RAM beyond what a physmap in the higher half of Sv39 can reach: 64 MiB "
                                   "from 0x3fc0000000 on is UsableUnmapped, for the kernel to map itself";
    CHECK_MESSAGE(warned, text_of(sv39->plan->warnings[0]));
    const Problems truncated = check_plan(*sv39->plan, *sv39->memory, sv39->machine.input);
    CHECK_MESSAGE(truncated.ok(), truncated.joined());
    // Preferring Sv39 but allowing Sv48: the planner moves up.
    auto wider = plan(machine_dtb(big, kFourHarts), kernel(true), [](Machine& m) {
        config_in(m.kernel)->preferred_paging_mode = loader_api::PagingMode::Sv39;
    });
    REQUIRE_MESSAGE(wider->result, error_text(*wider));
    CHECK(wider->plan->mode == kmem::PagingModeId::Sv48);
    const Problems problems = check_plan(*wider->plan, *wider->memory, wider->machine.input);
    CHECK_MESSAGE(problems.ok(), problems.joined());
}

TEST_CASE("a loader above the lower half cannot be identity-mapped") {
    const std::vector<std::pair<std::uint64_t, std::uint64_t>> high = {{std::uint64_t{512} << 30, 64 * kMiB}};
    auto run = plan(machine_dtb(high, kFourHarts), kernel(true), [](Machine& m) {
        config_in(m.kernel)->max_paging_mode = loader_api::PagingMode::Sv39;
        m.input.options.identity_map_loader = true;
    });
    expect_error(*run, PlanErrorCode::LoaderNotIdentityMappable, "plan: the loader image [0x8000200000, 0x8000210000) lies above the lower half of Sv39, so it cannot "
                 "be identity-mapped there");
    // Without an identity map (the protocol's default) the same machine plans.
    auto plain = plan(machine_dtb(high, kFourHarts), kernel(true), [](Machine& m) {
        config_in(m.kernel)->max_paging_mode = loader_api::PagingMode::Sv39;
    });
    CHECK_MESSAGE(plain->result, error_text(*plain));
}

// Found by fuzz-plan: a memory node past 2^56 made the page-table builder
// place a table frame there that no PTE can name (a trap, not an error).
TEST_CASE("RAM past the 56-bit physical address space is refused by name") {
    const std::uint64_t limit = std::uint64_t{1} << 56;
    const std::vector<std::pair<std::uint64_t, std::uint64_t>> ram = {{0x8000'0000, 64 * kMiB}, {limit - 32 * kMiB, 64 * kMiB}};
    auto run = plan(machine_dtb(ram, kFourHarts), kernel(true));
    expect_error(*run, PlanErrorCode::RamBeyondPhysicalAddresses, "plan: the device tree's memory@72057594004373504 has RAM at [0xfffffffe000000, 0x100000002000000), "
                              "past the 56-bit physical addresses RISC-V page tables can map");
}

TEST_CASE("an input outside RAM") {
    auto run = plan(machine_dtb(kRam128M, kFourHarts), kernel(true), [](Machine& m) {
        m.input.device_tree_address = PhysicalAddress(0x1000);
    });
    expect_error(*run, PlanErrorCode::InputOutsideRam, "plan: the device tree [0x1000, " + hex(0x1000 + run->machine.dtb.size()) + ") is not inside RAM");
}

TEST_CASE("check_plan notices a broken plan") {
    auto run = plan(machine_dtb(kRam128M, kFourHarts), kernel(true));
    REQUIRE(run->result);
    Plan& p = *run->plan;
    SimulatedMemory& memory = *run->memory;
    REQUIRE(check_plan(p, memory, run->machine.input).ok());
    const auto leaves = loader_api::host::collect_leaves(p, memory);

    // A changed byte in a copied kernel segment.
    const loader_api::VirtualArea* copy = nullptr;
    for (const auto& area : p.areas)
        if (area.kind == loader_api::AreaKind::Kernel && area.copied) copy = &area;
    REQUIRE(copy != nullptr);
    const auto* leaf = loader_api::host::find_leaf(leaves, copy->range.begin());
    REQUIRE(leaf != nullptr);
    auto* byte = reinterpret_cast<std::uint8_t*>(memory.frame(leaf->pa));
    byte[0x800] ^= 0xff;
    CHECK(!check_plan(p, memory, run->machine.input).ok());
    byte[0x800] ^= 0xff;

    // A guard page mapped.
    const auto& hart = p.harts[0];
    const auto* stack_leaf = loader_api::host::find_leaf(leaves, hart.stack.begin());
    REQUIRE(stack_leaf != nullptr);
    REQUIRE(stack_leaf->level == 0);
    std::uint64_t* table = nullptr;
    {
        // The level-0 table holding the stack's first page also holds the guard's entry (same 2 MiB).
        for (const auto frame : loader_api::host::collect_tables(p, memory)) {
            auto* entries = memory.frame(frame);
            for (unsigned i = 0; i < 512; ++i)
                if (entries[i] == stack_leaf->pte.raw()) table = entries;
        }
    }
    REQUIRE(table != nullptr);
    const unsigned index = static_cast<unsigned>(((hart.stack.begin().value() - 4096) >> 12) & 511);
    if ((hart.stack.begin().value() & 0x1fffff) != 0) {
        const std::uint64_t saved = table[index];
        table[index] = stack_leaf->pte.raw();
        CHECK(!check_plan(p, memory, run->machine.input).ok());
        table[index] = saved;
    }

    // Wrong permissions on a kernel page.
    for (const auto frame : loader_api::host::collect_tables(p, memory)) {
        auto* entries = memory.frame(frame);
        for (unsigned i = 0; i < 512; ++i) {
            if (entries[i] != leaf->pte.raw()) continue;
            const std::uint64_t saved = entries[i];
            entries[i] ^= kmem::pte_bits::kExecute;
            CHECK(!check_plan(p, memory, run->machine.input).ok());
            entries[i] = saved;
        }
    }
    CHECK(check_plan(p, memory, run->machine.input).ok());

    // The protocol's A and D on every leaf of the kernel image, read-only
    // and executable ones included, and G = 0: the kernel's audit names each.
    const loader_api::VirtualArea* text = nullptr;
    for (const auto& area : p.areas)
        if (area.kind == loader_api::AreaKind::Kernel && area.flags.execute && !area.flags.write) text = &area;
    REQUIRE(text != nullptr);
    const auto* text_leaf = loader_api::host::find_leaf(leaves, text->range.begin());
    REQUIRE(text_leaf != nullptr);
    CHECK((text_leaf->pte.raw() & 0xff) == 0xcb);  // V R X A D: what a 1.0 loader got wrong (0x4b)
    const std::string audit_prefix = "the kernel's audit: ";
    const std::string at = ": va " + hex(text_leaf->va.value()) + " pa " + hex(text_leaf->pa.value()) + " flags r-x-- ";
    for (const auto& [bit, expected] : {std::pair{kmem::pte_bits::kDirty, "A or D bit clear" + at + "(0x4b)"},
                                        std::pair{kmem::pte_bits::kAccessed, "A or D bit clear" + at + "(0x8b)"},
                                        std::pair{kmem::pte_bits::kGlobal, "global page (G = 1): va " +
                                                                               hex(text_leaf->va.value()) + " pa " +
                                                                               hex(text_leaf->pa.value()) + " flags r-x-g (0xeb)"}}) {
        bool patched = false;
        for (const auto frame : loader_api::host::collect_tables(p, memory)) {
            auto* entries = memory.frame(frame);
            for (unsigned i = 0; i < 512; ++i) {
                if (entries[i] != text_leaf->pte.raw()) continue;
                entries[i] ^= bit;
                const Problems broken = check_plan(p, memory, run->machine.input);
                CHECK_MESSAGE(std::find(broken.list.begin(), broken.list.end(), audit_prefix + expected) != broken.list.end(),
                              broken.joined());
                entries[i] ^= bit;
                patched = true;
            }
        }
        CHECK(patched);
    }
    CHECK(check_plan(p, memory, run->machine.input).ok());
}

// The layout rule in constant evaluation: without KASLR the physmap starts
// the Sv39 higher half, a fixed kernel keeps its link address and the
// stacks take the highest free 2 MiB block below it.
static_assert([] {
    loader_api::LayoutRequest request;
    request.va_bits = 39;
    request.physmap_size = std::uint64_t{1} << 30;
    request.kernel_link = 0xffff'ffff'8000'0000;
    request.kernel_size = 2 << 20;
    request.kernel_movable = false;
    request.stacks_size = 2 << 20;
    const auto layout = loader_api::plan_layout(request, kmem::PagingModeId::Sv39);
    return layout && layout->physmap.block.begin().value() == 0xffff'ffc0'0000'0000 &&
           layout->kernel.block.begin().value() == 0xffff'ffff'8000'0000 &&
           layout->stacks.block.begin().value() == 0xffff'ffff'ffc0'0000 &&
           layout->physmap.positions == 254;
}());

// Where a PIE goes without KASLR (docs/protocol.md, "Where to link"): one
// linked in the higher half stays at its link address; one linked at 0 takes
// the highest free 2 MiB-aligned place, and the stacks go below it.
static_assert([] {
    loader_api::LayoutRequest request;
    request.va_bits = 39;
    request.physmap_size = std::uint64_t{1} << 30;
    request.kernel_link = 0xffff'ffff'c000'0000;
    request.kernel_size = 2 << 20;
    request.kernel_movable = true;
    request.stacks_size = 2 << 20;
    const auto in_place = loader_api::plan_layout(request, kmem::PagingModeId::Sv39);
    request.kernel_link = 0;
    const auto at_zero = loader_api::plan_layout(request, kmem::PagingModeId::Sv39);
    return in_place && in_place->kernel.block.begin().value() == 0xffff'ffff'c000'0000 &&
           at_zero && at_zero->kernel.block.begin().value() == 0xffff'ffff'ffc0'0000 &&
           at_zero->stacks.block.begin().value() == 0xffff'ffff'ffa0'0000;
}());

TEST_CASE("an ET_EXEC linked outside the higher half is refused by name") {
    loader_api::LayoutRequest request;
    request.va_bits = 48;
    request.physmap_size = std::uint64_t{1} << 30;
    request.kernel_link = 0x8020'0000;
    request.kernel_size = 2 << 20;
    request.kernel_movable = false;
    request.stacks_size = 2 << 20;
    const auto layout = loader_api::plan_layout(request, kmem::PagingModeId::Sv48);
    expect_error(layout, PlanErrorCode::KernelDoesNotFit,
                 "plan: the kernel [0x80200000, 0x80400000) does not fit Sv48: its link address is not in the higher half");
    // The same link address is fine for a PIE: it is moved.
    request.kernel_movable = true;
    CHECK(loader_api::plan_layout(request, kmem::PagingModeId::Sv48));
}

// What U-Boot's booti hands over: /chosen/boot-hartid, and the initrd it
// placed recorded as a /memreserve/ of exactly its range.
std::vector<std::uint8_t> uboot_dtb(std::uint64_t initrd_begin, std::uint64_t initrd_end, std::uint64_t memreserve_end,
                                    std::uint32_t boot_hartid) {
    const std::vector<Hart> harts = {{0, "riscv,sv48"}, {1, "riscv,sv48"}, {2, "riscv,sv48"}};
    return machine_dtb(kRam128M, harts, {{initrd_begin, memreserve_end - initrd_begin}}, true, [&](BlobBuilder& blob) {
        blob.prop("linux,initrd-start", cells({0, static_cast<std::uint32_t>(initrd_begin)}));
        blob.prop("linux,initrd-end", cells({0, static_cast<std::uint32_t>(initrd_end)}));
        blob.prop("boot-hartid", cells({boot_hartid}));
    });
}

TEST_CASE("U-Boot's /memreserve/ of the initrd is the initrd, not firmware memory") {
    const std::uint64_t begin = 0x8100'0000, end = begin + 0x12345, end_page = begin + 0x13000;
    auto run = plan(uboot_dtb(begin, end, end, 0), kernel(true));
    REQUIRE_MESSAGE(run->result, error_text(*run));
    CHECK(warning_texts(*run->plan).empty());
    const loader_api::BootInfo& info = run->plan->boot_info();
    for (std::uint64_t page = begin; page < end; page += 4096)
        CHECK(kind_at(info, page) == loader_api::MemoryRegionKind::Initrd);
    CHECK(kind_at(info, end_page) != loader_api::MemoryRegionKind::Reserved);
    CHECK(info.initrd.begin == begin);
    CHECK(info.initrd.end == end);
    CHECK_MESSAGE(check_plan(*run->plan, *run->memory, run->machine.input).ok(),
                  check_plan(*run->plan, *run->memory, run->machine.input).joined());

    // Any other /memreserve/ over the initrd is firmware memory: Reserved
    // past the initrd, and the loader says the initrd lies in it.
    auto wider = plan(uboot_dtb(begin, end, end + 0x1000, 0), kernel(true));
    REQUIRE_MESSAGE(wider->result, error_text(*wider));
    CHECK(warning_texts(*wider->plan) ==
          std::vector<std::string>{"plan warning: the initrd at 0x81000000 overlaps reserved memory"});
    CHECK(kind_at(wider->plan->boot_info(), end_page) == loader_api::MemoryRegionKind::Reserved);
}

TEST_CASE("U-Boot's /memreserve/ of an initrd that is the kernel file (loader-none)") {
    // place_inputs() puts the kernel file here; the tree then names it as the initrd.
    const std::uint64_t begin = 0x8000'0000 + 2 * kMiB + 0x30000;
    const auto bytes = kernel(true);
    const std::uint64_t end = begin + bytes.size();
    auto run = plan(uboot_dtb(begin, end, end, 0), bytes);
    REQUIRE_MESSAGE(run->result, error_text(*run));
    REQUIRE(run->machine.input.kernel_address.value() == begin);
    CHECK(warning_texts(*run->plan).empty());
    const loader_api::BootInfo& info = run->plan->boot_info();
    CHECK(info.initrd.begin == info.initrd.end);  // the kernel is told of no initrd
    for (std::uint64_t page = begin; page < end; page += 4096) {
        const auto kind = kind_at(info, page);
        CHECK((kind == loader_api::MemoryRegionKind::LoaderReclaimable || kind == loader_api::MemoryRegionKind::Kernel));
    }
    CHECK(check_plan(*run->plan, *run->memory, run->machine.input).ok());
}

// The /chosen initrd is either the kernel file itself (loader-none, the test
// above) or lies apart from every input, in pages of its own: anything in
// between is a tree that names the wrong bytes, refused with both ranges
// rather than dropped or handed to the kernel (tests: boot-initrd-over-*).
TEST_CASE("an initrd that overlaps the device tree, the loader or the kernel file is refused naming both ranges") {
    // place_inputs(): loader text [+2M, +2M+64K), data up to +2M+192K, the
    // kernel file right after, the device tree at +5M.
    const std::uint64_t base = 0x8000'0000;
    const std::uint64_t text = base + 2 * kMiB, data = text + 0x10000, data_end = text + 0x30000;
    const std::uint64_t dtb = base + 5 * kMiB;
    const auto bytes = kernel(true);
    const std::uint64_t kernel_end = data_end + bytes.size();
    const auto with_initrd = [](std::uint64_t begin, std::uint64_t end) {
        return machine_dtb(kRam128M, kFourHarts, {}, true, [&](BlobBuilder& blob) {
            blob.prop("linux,initrd-start", cells({0, static_cast<std::uint32_t>(begin)}));
            blob.prop("linux,initrd-end", cells({0, static_cast<std::uint32_t>(end)}));
        });
    };
    const auto range = [](std::uint64_t begin, std::uint64_t end) { return "[" + hex(begin) + ", " + hex(end) + ")"; };

    auto over_tree = plan(with_initrd(dtb + 0x100, dtb + kMiB), bytes);
    const std::uint64_t dtb_end = dtb + over_tree->machine.dtb.size();
    REQUIRE(dtb_end < dtb + 0x800);
    expect_error(*over_tree, PlanErrorCode::InitrdOverlapsInput, "plan: the /chosen initrd " + range(dtb + 0x100, dtb + kMiB) +
                                        " overlaps the device tree " + range(dtb, dtb_end));

    // No byte in common, but a page: the memory map could give it only one kind.
    auto same_page = plan(with_initrd(dtb + 0x800, dtb + kMiB), bytes);
    expect_error(*same_page, PlanErrorCode::InitrdOverlapsInput, "plan: the /chosen initrd " + range(dtb + 0x800, dtb + kMiB) +
                                        " shares a page with the device tree " + range(dtb, dtb_end) +
                                        " (the memory map gives each page one kind)");

    auto over_loader = plan(with_initrd(text + 0x1000, text + 0x2000), bytes);
    expect_error(*over_loader, PlanErrorCode::InitrdOverlapsInput, "plan: the /chosen initrd " + range(text + 0x1000, text + 0x2000) +
                                          " overlaps the loader image " + range(text, data_end));

    // The loader's two ranges apart: each is named by itself.
    auto over_data = plan(with_initrd(data_end - 0x1000, data_end), bytes, [&](Machine& m) {
        m.input.options.loader_data = {PhysicalAddress(data + 0x1000), PhysicalAddress(data_end)};
    });
    expect_error(*over_data, PlanErrorCode::InitrdOverlapsInput, "plan: the /chosen initrd " + range(data_end - 0x1000, data_end) +
                                        " overlaps the loader data " + range(data + 0x1000, data_end));

    auto over_kernel = plan(with_initrd(kernel_end - 0x100, kernel_end + 0x1000), bytes);
    expect_error(*over_kernel, PlanErrorCode::InitrdOverlapsInput, "plan: the /chosen initrd " + range(kernel_end - 0x100, kernel_end + 0x1000) +
                                          " overlaps the kernel file " + range(data_end, kernel_end));

    // A kernel embedded in the loader (loader.elf) lies inside its image; an
    // initrd over it used to be taken for the kernel file and dropped.
    const std::uint64_t embedded_end = (kernel_end + 0xfff) & ~std::uint64_t{0xfff};
    auto over_embedded = plan(with_initrd(data_end + 0x2000, data_end + 0x3000), bytes, [&](Machine& m) {
        m.input.options.loader_text = {PhysicalAddress(text), PhysicalAddress(embedded_end)};
        m.input.options.loader_data = {PhysicalAddress(embedded_end), PhysicalAddress(embedded_end + 0x20000)};
    });
    expect_error(*over_embedded, PlanErrorCode::InitrdOverlapsInput, "plan: the /chosen initrd " + range(data_end + 0x2000, data_end + 0x3000) +
                                            " overlaps the loader image " + range(text, embedded_end + 0x20000));

    // Touching is not overlapping: an initrd that ends where the tree begins.
    auto touching = plan(with_initrd(dtb - 0x10000, dtb), bytes);
    REQUIRE_MESSAGE(touching->result, error_text(*touching));
    CHECK(touching->plan->boot_info().initrd.end == dtb);
}

TEST_CASE("/chosen/boot-hartid that disagrees with the hart the loader runs on: a warning naming both") {
    auto agree = plan(uboot_dtb(0x8100'0000, 0x8100'1000, 0x8100'1000, 0), kernel(true));
    REQUIRE_MESSAGE(agree->result, error_text(*agree));
    CHECK(warning_texts(*agree->plan).empty());
    auto disagree = plan(uboot_dtb(0x8100'0000, 0x8100'1000, 0x8100'1000, 2), kernel(true));
    REQUIRE_MESSAGE(disagree->result, error_text(*disagree));
    CHECK(disagree->plan->boot_info().boot_hart_id == 0);
    CHECK(warning_texts(*disagree->plan) ==
          std::vector<std::string>{"plan warning: /chosen/boot-hartid is 2 but the firmware entered the loader on "
                                   "hart 0 (a0): hart 0 is the boot hart"});
}

TEST_CASE("protocol 1.1 from an EFI door: runtime regions get their kinds, the map and system table reach BootInfo") {
    namespace fdt = loader_api::fdt;
    using Kind = loader_api::MemoryRegionKind;
    static auto machine_info = std::make_unique<fdt::MachineInfo>();
    static std::vector<std::byte> efi_map(3 * 48);
    for (std::size_t i = 0; i < efi_map.size(); ++i) efi_map[i] = std::byte(i * 13 + 1);
    auto run = plan(machine_dtb(kRam128M, kFourHarts, {}, false), kernel(true), [](Machine& m) {
        const auto* bytes = m.input.device_tree.data();
        REQUIRE(fdt::read_machine_info(fdt::Bytes(bytes, m.input.device_tree.size()), *machine_info));
        // What the EFI door adds after the tree's own reservations.
        REQUIRE(machine_info->reserved.push({{kmem::PhysicalAddress(0x8700'0000), kmem::PhysicalAddress(0x8700'3000)},
                                             fdt::ReservationSource::kFirmwareRuntimeData, false, "EFI runtime services data"}));
        REQUIRE(machine_info->reserved.push({{kmem::PhysicalAddress(0x8700'3000), kmem::PhysicalAddress(0x8700'4000)},
                                             fdt::ReservationSource::kFirmwareRuntimeCode, false, "EFI runtime services code"}));
        REQUIRE(machine_info->reserved.push({{kmem::PhysicalAddress(0x8700'8000), kmem::PhysicalAddress(0x8700'9000)},
                                             fdt::ReservationSource::kFirmwareMemoryMap, false, "EFI ACPI NVS"}));
        m.input.machine = machine_info.get();
        m.input.options.efi_system_table = 0x8700'0018;
        m.input.options.efi_memory_map = efi_map;
        m.input.options.efi_memory_descriptor_size = 48;
        m.input.options.efi_memory_descriptor_version = 1;
        static const std::vector<std::uint8_t> rng = {9, 9, 9, 9};
        m.input.options.entropy = rng;
        m.input.options.entropy_sources = loader_api::kEntropyEfiRng;
    });
    REQUIRE_MESSAGE(run->result, error_text(*run));
    const loader_api::BootInfo& info = run->plan->boot_info();
    CHECK(info.header.version_minor == 1);
    CHECK(kind_at(info, 0x8700'0000) == Kind::EfiRuntimeData);
    CHECK(kind_at(info, 0x8700'2000) == Kind::EfiRuntimeData);
    CHECK(kind_at(info, 0x8700'3000) == Kind::EfiRuntimeCode);
    CHECK(kind_at(info, 0x8700'8000) == Kind::Reserved);
    CHECK(info.efi_system_table == 0x8700'0018);
    CHECK(info.efi_memory_descriptor_size == 48);
    CHECK(info.efi_memory_descriptor_version == 1);
    REQUIRE(info.efi_memory_map_bytes().size() == efi_map.size());
    CHECK(std::memcmp(info.efi_memory_map_bytes().data(), efi_map.data(), efi_map.size()) == 0);
    // No rng-seed in this tree: the EFI RNG alone, and it counts for KASLR.
    CHECK(info.entropy_sources == loader_api::kEntropyEfiRng);
    CHECK(run->plan->kaslr);
    CHECK_MESSAGE(check_plan(*run->plan, *run->memory, run->machine.input).ok(),
                  check_plan(*run->plan, *run->memory, run->machine.input).joined());
}

TEST_CASE("protocol 1.1 entropy_sources: the tree's rng-seed, none, and bytes nobody names") {
    auto seeded = plan(machine_dtb(kRam128M, kFourHarts), kernel(true));
    REQUIRE_MESSAGE(seeded->result, error_text(*seeded));
    CHECK(seeded->plan->boot_info().entropy_sources == loader_api::kEntropyDeviceTree);
    CHECK(seeded->plan->boot_info().efi_system_table == 0);
    CHECK(seeded->plan->boot_info().efi_memory_map_bytes().empty());

    auto none = plan(machine_dtb(kRam128M, kFourHarts, {}, false), kernel(true));
    REQUIRE_MESSAGE(none->result, error_text(*none));
    CHECK(none->plan->boot_info().entropy_sources == 0);
    CHECK(!none->plan->kaslr);

    // Bytes without a named source are mixed in but are not entropy to rely on.
    auto unnamed = plan(machine_dtb(kRam128M, kFourHarts, {}, false), kernel(true), [](Machine& m) {
        static const std::vector<std::uint8_t> bytes = {1, 2, 3};
        m.input.options.entropy = bytes;
    });
    REQUIRE_MESSAGE(unnamed->result, error_text(*unnamed));
    CHECK(unnamed->plan->boot_info().entropy_sources == 0);
    CHECK(!unnamed->plan->kaslr);
}

TEST_CASE("a sparse Sv39 NUMA machine: the physmap keeps the low nodes, the rest is UsableUnmapped") {
    // The nodes of tests/fdt/numa_sv39_sparse.dts: 2 GiB each at 2, 128, 256 and 384 GiB.
    const std::uint64_t kGiB = std::uint64_t{1} << 30;
    const std::vector<std::pair<std::uint64_t, std::uint64_t>> nodes = {
        {2 * kGiB, 2 * kGiB}, {128 * kGiB, 2 * kGiB}, {256 * kGiB, 2 * kGiB}, {384 * kGiB, 2 * kGiB}};
    const std::vector<Hart> sv39_harts = {{0, "riscv,sv39"}, {1, "riscv,sv39"}, {2, "riscv,sv39"}, {3, "riscv,sv39"}};
    // The boot hart's satp probe finds Sv39 only.
    const auto sv39_only = [](Machine& m) { m.input.options.supported_modes = loader_api::PagingModeSet{}.add(kmem::PagingModeId::Sv39); };
    auto run = plan(machine_dtb(nodes, sv39_harts), kernel(true), sv39_only);
    REQUIRE_MESSAGE(run->result, error_text(*run));
    CHECK(run->plan->mode == kmem::PagingModeId::Sv39);
    const loader_api::BootInfo& info = run->plan->boot_info();
    using Kind = loader_api::MemoryRegionKind;
    // The boot node and the 128 GiB node are mapped; 256 and 384 GiB are beyond
    // the 256 GiB higher half (less room for the kernel and the stacks).
    CHECK(kind_at(info, 128 * kGiB) == Kind::Usable);
    CHECK(kind_at(info, 256 * kGiB) == Kind::UsableUnmapped);
    CHECK(kind_at(info, 386 * kGiB - 4096) == Kind::UsableUnmapped);
    CHECK(info.physmap.begin == 2 * kGiB + info.physmap_offset);
    CHECK(info.physmap.end == 130 * kGiB + info.physmap_offset);
    CHECK(warning_texts(*run->plan) ==
          std::vector<std::string>{"plan warning: RAM beyond what a physmap in the higher half of Sv39 can reach: 4 GiB "
                                   "from 0x3fc0000000 on is UsableUnmapped, for the kernel to map itself"});
    const Problems problems = check_plan(*run->plan, *run->memory, run->machine.input);
    CHECK_MESSAGE(problems.ok(), problems.joined());
    // Nothing was placed beyond the physmap.
    for (const auto& allocation : run->plan->allocations)
        if (allocation.origin == loader_api::AllocationOrigin::Planner) CHECK(allocation.range.end().value() <= 130 * kGiB);

    // An input beyond the physmap's reach is a named error, not an unmapped kernel file.
    auto beyond = plan(machine_dtb(nodes, sv39_harts), kernel(true), [&](Machine& m) {
        sv39_only(m);
        m.input.kernel_address = kmem::PhysicalAddress(384 * kGiB);
    });
    expect_error(*beyond, PlanErrorCode::InputBeyondPhysmap, "plan: the kernel file [0x6000000000, " + hex(384 * kGiB + beyond->machine.kernel.size()) +
                     ") lies in RAM beyond what a physmap in the higher half of Sv39 can reach");
}

TEST_CASE("an entry point that stvec cannot hold (4n+2) is refused by name") {
    auto bytes = kernel(true);
    std::uint64_t entry = 0;
    std::memcpy(&entry, bytes.data() + 24, 8);  // e_entry
    REQUIRE(entry % 4 == 0);
    entry += 2;  // still inside the executable segment: only the alignment is wrong
    std::memcpy(bytes.data() + 24, &entry, 8);
    auto run = plan(machine_dtb(kRam128M, kFourHarts), bytes);
    expect_error(*run, PlanErrorCode::EntryMisaligned,
                 "plan: the kernel entry " + hex(entry) +
                     " is not 4-byte aligned (the loader enters it through stvec, which holds only such addresses)");
}

namespace {

// The config's bytes after `size` (offset 16 on), as a kernel written from
// the spec's table alone may leave them.
void clear_config_body(loader_api::LoaderConfig& config) {
    auto* bytes = reinterpret_cast<std::uint8_t*>(&config);
    std::memset(bytes + 16, 0, sizeof config - 16);
}

// Two runs planned alike: same mode, layout, tables and BootInfo bytes.
void check_same_plan(const Run& a, const Run& b) {
    REQUIRE_MESSAGE(a.result, error_text(a));
    REQUIRE_MESSAGE(b.result, error_text(b));
    const auto fields = [](const loader_api::LoaderConfig& c) {
        return std::tuple{c.stack_size, c.min_paging_mode, c.max_paging_mode, c.preferred_paging_mode, c.kaslr,
                          c.start_harts, c.max_harts, c.allow_write_execute, c.log_level};
    };
    CHECK(fields(a.plan->config) == fields(b.plan->config));
    CHECK(a.plan->mode == b.plan->mode);
    CHECK(a.plan->satp == b.plan->satp);
    CHECK(a.plan->kaslr_slide == b.plan->kaslr_slide);
    REQUIRE(a.plan->boot_info_size == b.plan->boot_info_size);
    CHECK(std::memcmp(a.plan->boot_info_bytes.data(), b.plan->boot_info_bytes.data(), a.plan->boot_info_size) == 0);
}

}  // namespace

TEST_CASE("an all-zero LoaderConfig body plans exactly like LoaderConfig{}") {
    auto defaults = plan(machine_dtb(kRam128M, kFourHarts), kernel(true),
                         [](Machine& m) { *config_in(m.kernel) = loader_api::LoaderConfig{}; });
    auto zero = plan(machine_dtb(kRam128M, kFourHarts), kernel(true), [](Machine& m) {
        auto& config = *config_in(m.kernel);
        config = loader_api::LoaderConfig{};
        clear_config_body(config);
        REQUIRE(config.stack_size == 0);
        REQUIRE(static_cast<std::uint32_t>(config.preferred_paging_mode) == 0);
    });
    check_same_plan(*defaults, *zero);
    CHECK(zero->plan->config.stack_size == 64 * 1024);
    CHECK(zero->plan->config.min_paging_mode == loader_api::PagingMode::Sv39);
    CHECK(zero->plan->config.max_paging_mode == loader_api::PagingMode::Sv57);
    CHECK(zero->plan->config.preferred_paging_mode == loader_api::PagingMode::Sv48);
    CHECK(zero->plan->mode == kmem::PagingModeId::Sv48);
    CHECK(zero->plan->harts[0].stack.size() == 64 * 1024);
    // Each zero alone takes its own default: a config that names only max_paging_mode.
    auto only_max = plan(machine_dtb(kRam128M, kFourHarts), kernel(true), [](Machine& m) {
        auto& config = *config_in(m.kernel);
        clear_config_body(config);
        config.max_paging_mode = loader_api::PagingMode::Sv39;
    });
    REQUIRE_MESSAGE(only_max->result, error_text(*only_max));
    CHECK(only_max->plan->mode == kmem::PagingModeId::Sv39);
    // Still refused: a stack that is not whole pages.
    auto odd_stack = plan(machine_dtb(kRam128M, kFourHarts), kernel(true),
                          [](Machine& m) { config_in(m.kernel)->stack_size = 1000; });
    expect_error(*odd_stack, PlanErrorCode::BadLoaderConfig,
                 "plan: bad .loader_config: stack_size (a multiple of 4 KiB) is 0x3e8 (expected 0x10000)");
}

TEST_CASE("a LoaderConfig shorter than this loader's: the missing fields take their defaults") {
    auto defaults = plan(machine_dtb(kRam128M, kFourHarts), kernel(true),
                         [](Machine& m) { *config_in(m.kernel) = loader_api::LoaderConfig{}; });
    // Only the header (16 bytes): whatever follows in the section is not the config's.
    auto header_only = plan(machine_dtb(kRam128M, kFourHarts), kernel(true), [](Machine& m) {
        auto& config = *config_in(m.kernel);
        config = loader_api::LoaderConfig{.stack_size = 8192, .preferred_paging_mode = loader_api::PagingMode::Sv39,
                                          .start_harts = loader_api::HartSelection::BootHartOnly};
        config.size = 16;
    });
    check_same_plan(*defaults, *header_only);
    // Through stack_size (24 bytes): it counts, the paging modes after it do not.
    auto through_stack = plan(machine_dtb(kRam128M, kFourHarts), kernel(true), [](Machine& m) {
        auto& config = *config_in(m.kernel);
        config = loader_api::LoaderConfig{.stack_size = 128 * 1024, .preferred_paging_mode = loader_api::PagingMode::Sv39};
        config.size = 24;
    });
    REQUIRE_MESSAGE(through_stack->result, error_text(*through_stack));
    CHECK(through_stack->plan->harts[0].stack.size() == 128 * 1024);
    CHECK(through_stack->plan->mode == kmem::PagingModeId::Sv48);
    // Through preferred_paging_mode (36 bytes): Sv39 preferred, KASLR and harts defaulted.
    auto through_modes = plan(machine_dtb(kRam128M, kFourHarts), kernel(true), [](Machine& m) {
        auto& config = *config_in(m.kernel);
        config = loader_api::LoaderConfig{.preferred_paging_mode = loader_api::PagingMode::Sv39,
                                          .kaslr = loader_api::Kaslr::Disabled,
                                          .start_harts = loader_api::HartSelection::BootHartOnly};
        config.size = 36;
    });
    REQUIRE_MESSAGE(through_modes->result, error_text(*through_modes));
    CHECK(through_modes->plan->mode == kmem::PagingModeId::Sv39);
    CHECK(through_modes->plan->kaslr);
    CHECK(through_modes->plan->config.start_harts == loader_api::HartSelection::All);

    // A size that cuts a field in half, or that is shorter than the header.
    for (const std::uint32_t size : {20u, 12u, 0u, 57u}) {
        auto cut = plan(machine_dtb(kRam128M, kFourHarts), kernel(true), [&](Machine& m) { config_in(m.kernel)->size = size; });
        if (size == 57) {
            // Longer than this loader's config: the section must hold it.
            expect_error(*cut, PlanErrorCode::BadLoaderConfig, "plan: bad .loader_config: section size is 0x38 (expected 0x39)");
            continue;
        }
        expect_error(*cut, PlanErrorCode::BadLoaderConfig,
                     "plan: bad .loader_config: size (not at the end of a field) is " + hex(size) + " (expected 0x38)");
    }
}

TEST_CASE("a LoaderConfig longer than this loader's: refused if a byte it does not know is non-zero") {
    // Grow the section over the 8 file bytes after it (its section header's
    // sh_size), as a kernel of a later minor version would declare them.
    auto longer = [](std::vector<std::uint8_t>& bytes, std::uint8_t fill) {
        auto elf = loader_api::ElfFile::parse(as_bytes(bytes));
        REQUIRE(elf);
        const auto section = elf->find_section(".loader_config");
        REQUIRE(section);
        std::uint64_t shoff = 0;
        std::memcpy(&shoff, bytes.data() + 40, 8);
        std::uint16_t shnum = 0;
        std::memcpy(&shnum, bytes.data() + 60, 2);
        bool grown = false;
        for (std::uint16_t i = 0; i < shnum && !grown; ++i) {
            std::uint8_t* header = bytes.data() + shoff + 64 * i;
            std::uint64_t offset = 0, size = 0;
            std::memcpy(&offset, header + 24, 8);
            std::memcpy(&size, header + 32, 8);
            if (offset != section->offset || size != sizeof(loader_api::LoaderConfig)) continue;
            size += 8;
            std::memcpy(header + 32, &size, 8);
            grown = true;
        }
        REQUIRE(grown);
        std::memset(bytes.data() + section->offset + 56, fill, 8);
        reinterpret_cast<loader_api::LoaderConfig*>(bytes.data() + section->offset)->size = 64;
    };
    auto bytes = kernel(true);
    longer(bytes, 1);
    auto refused = plan(machine_dtb(kRam128M, kFourHarts), bytes);
    expect_error(*refused, PlanErrorCode::BadLoaderConfig,
                 "plan: bad .loader_config: offset of a non-zero byte past the fields this loader knows is 0x38 (expected 0x0)");
}

TEST_CASE("harts the kernel cannot run on are listed as Unusable (sifive_u's hart 0)") {
    // sifive_u: hart 0 is the E51 monitor core, no mmu-type; harts 1-4 are U54s.
    const std::vector<Hart> sifive_u = {{0, nullptr}, {1, "riscv,sv48"}, {2, "riscv,sv48"}, {3, "riscv,sv48"},
                                        {4, "riscv,sv48"}, {5, "riscv,sv48", "disabled"}};
    auto run = plan(machine_dtb(kRam128M, sifive_u), kernel(true), [](Machine& m) { m.input.options.boot_hart_id = 1; });
    REQUIRE_MESSAGE(run->result, error_text(*run));
    const loader_api::BootInfo& info = run->plan->boot_info();
    REQUIRE(info.hart_table().size() == 6);
    for (const auto& hart : info.hart_table()) {
        const bool unusable = hart.hart_id == 0 || hart.hart_id == 5;
        CHECK(hart.state == (unusable ? loader_api::HartState::Unusable : loader_api::HartState::Started));
        CHECK(hart.sbi_error == 0);
        CHECK(hart.stack.empty() == unusable);
        CHECK(hart.tls.empty() == unusable);
        CHECK(hart.owns_stack() == !unusable);
    }
    CHECK(warning_texts(*run->plan).empty());
    CHECK(loader_api::validate(info, run->plan->boot_info_size));
    const Problems problems = check_plan(*run->plan, *run->memory, run->machine.input);
    CHECK_MESSAGE(problems.ok(), problems.joined());
    // mark_hart_failed knows it was never started.
    expect_error(loader_api::mark_hart_failed(*run->plan, 0, -3, *run->memory), PlanErrorCode::UnknownHart,
                 "plan: hart 0 is not a started hart of the plan");

    // Unusable harts are not counted as "left stopped".
    auto one = plan(machine_dtb(kRam128M, sifive_u), kernel(true), [](Machine& m) {
        m.input.options.boot_hart_id = 1;
        config_in(m.kernel)->start_harts = loader_api::HartSelection::BootHartOnly;
    });
    REQUIRE_MESSAGE(one->result, error_text(*one));
    CHECK(warning_texts(*one->plan) ==
          std::vector<std::string>{"plan warning: 3 usable harts left stopped (LoaderConfig.start_harts)"});
    CHECK(one->plan->boot_info().find_hart(0)->state == loader_api::HartState::Unusable);
    CHECK(one->plan->boot_info().find_hart(2)->state == loader_api::HartState::NotStarted);

    // A hart whose mmu-type is narrower than the chosen mode: Unusable, with a warning.
    auto narrow = plan(machine_dtb(kRam128M, {{0, "riscv,sv48"}, {1, "riscv,sv39"}}), kernel(true));
    REQUIRE_MESSAGE(narrow->result, error_text(*narrow));
    CHECK(narrow->plan->mode == kmem::PagingModeId::Sv48);
    CHECK(narrow->plan->boot_info().find_hart(1)->state == loader_api::HartState::Unusable);
    CHECK(warning_texts(*narrow->plan) ==
          std::vector<std::string>{"plan warning: hart 1 (mmu-type \"riscv,sv39\") cannot run the chosen paging mode: "
                                   "listed as Unusable, not started"});
}
