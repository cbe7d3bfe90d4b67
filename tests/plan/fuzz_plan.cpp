// libFuzzer target for the planner: make_plan on a device tree and a kernel
// ELF cut from one input, in simulated RAM. A plan it accepts must pass
// every check the corpus and random tests apply (plan_checks.hpp: validate,
// the allocations, minimum table frames, the kernel's bytes and permissions,
// the test kernel's audit of the address space); a rejection must be a named
// PlanError whose text formats. Anything else aborts, which libFuzzer
// reports as a crash.
//
// Input layout (make_fuzz_seeds.py writes it; every byte may be mutated):
//   0      options: bit 0 entropy from the loader, bit 1 identity-map the
//          loader, bit 2 take LoaderConfig fields from byte 2, bits 3-4 the
//          kernel file's misalignment, bit 5 mode cap from byte 3 bits 3-4
//   1      entropy byte (8 copies)
//   2      LoaderConfig: bits 0-1 preferred mode, 2-3 kaslr, 4-5 start_harts,
//          6-7 max_harts (0, 1, 2, 8)
//   3      paging modes the boot hart supports (bits 0-2: Sv39, Sv48, Sv57;
//          none set means all), bits 3-4 the command line's mode cap
//   4-5    device tree size, little endian; the tree follows, then the kernel

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "plan_checks.hpp"

namespace {

using namespace plan_test;

constexpr std::size_t kHeader = 6;
constexpr std::uint64_t kMisalignments[] = {0, 8, 0x800, 0x1234};
constexpr std::uint32_t kMaxHarts[] = {0, 1, 2, 8};

[[noreturn]] void fail(const char* what, const std::string& detail) {
    std::fprintf(stderr, "fuzz-plan: %s\n%s\n", what, detail.c_str());
    std::abort();
}

// place_inputs() needs a tree it can read; for one it cannot, the inputs go
// where QEMU virt's RAM starts, so the planner meets the broken tree itself.
void place_at_ram_start(Machine& machine, SimulatedMemory& memory, std::uint64_t kernel_misalign) {
    constexpr std::uint64_t base = 0x80000000;
    auto& options = machine.input.options;
    options.loader_text = {PhysicalAddress(base + k2M), PhysicalAddress(base + k2M + 0x10000)};
    options.loader_data = {PhysicalAddress(base + k2M + 0x10000), PhysicalAddress(base + k2M + 0x30000)};
    machine.input.kernel_address = PhysicalAddress(base + k2M + 0x30000 + kernel_misalign);
    machine.input.kernel = as_bytes(machine.kernel);
    machine.input.device_tree_address = PhysicalAddress(base + 5 * (1 << 20));
    machine.input.device_tree = {machine.dtb.data(), machine.dtb.size()};
    memory.store(machine.input.kernel_address, machine.input.kernel);
    memory.store(machine.input.device_tree_address, as_bytes(machine.dtb));
}

// config_in() without its alignment: a mutated kernel's .loader_config may
// sit at any file offset. Only its `bytes` are checked against the file: a
// mutated SHT_NOBITS .loader_config has an offset and size that point
// anywhere (the fuzzer found one, which read past the vector).
template <typename F>
void edit_config(std::vector<std::uint8_t>& kernel, F&& edit) {
    const auto elf = loader_api::ElfFile::parse(as_bytes(kernel));
    if (!elf) return;
    const auto section = elf->find_section(".loader_config");
    if (!section || section->bytes.size() < sizeof(loader_api::LoaderConfig)) return;
    const auto at = static_cast<std::size_t>(section->bytes.data() - as_bytes(kernel).data());
    loader_api::LoaderConfig config;
    std::memcpy(&config, kernel.data() + at, sizeof config);
    edit(config);
    std::memcpy(kernel.data() + at, &config, sizeof config);
}

// The simulated RAM holds every page the planner writes, and the checks
// rebuild the kernel byte by byte: a kernel that asks for more than a few
// tens of MiB (a huge .bss, TLS block or stack, on up to 1,024 harts) would
// exhaust libFuzzer's 2 GB limit without exercising anything new. Those
// sizes are planned by plan_random and refused on target by the
// bad-huge-* boots. A kernel that does not parse goes on to the planner.
bool fits_simulated_ram(std::vector<std::uint8_t>& kernel) {
    const auto elf = loader_api::ElfFile::parse(as_bytes(kernel));
    if (!elf) return true;
    std::uint64_t memsz = 0;
    for (const auto segment : elf->load_segments()) {
        if (segment.memsz > (32u << 20)) return false;
        memsz += segment.memsz;
    }
    if (memsz > (32u << 20) || (elf->tls().present && elf->tls().memsz > (64u << 10))) return false;
    std::uint64_t stack_size = 0;
    edit_config(kernel, [&](loader_api::LoaderConfig& config) { stack_size = config.stack_size; });
    return stack_size <= (256u << 10);
}

// Likewise RAM: 16 PiB in Sv57 is a correct plan of 16 million 1 GiB leaves
// (32,856 table frames), which the checks walk one by one for seconds. Up to
// 4 TiB still covers every physmap limit below Sv57 (Sv39's 253 GiB, Sv48's
// 64 TiB half is not reached, but its code path is the same). A tree the
// reader refuses goes on to the planner.
bool ram_fits_the_checks(const std::vector<std::uint8_t>& dtb) {
    static const auto info = std::make_unique<loader_api::fdt::MachineInfo>();
    if (!loader_api::fdt::read_machine_info(loader_api::fdt::Bytes(dtb.data(), dtb.size()), *info)) return true;
    std::uint64_t total = 0;
    for (const auto& range : info->memory) {
        if (range.range.size() > (std::uint64_t{4} << 40)) return false;
        total += range.range.size();
    }
    return total <= (std::uint64_t{4} << 40);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < kHeader) return 0;
    const std::uint8_t flags = data[0], entropy_byte = data[1], config_byte = data[2], modes_byte = data[3];
    const std::size_t dtb_size = std::min<std::size_t>(data[4] | std::size_t{data[5]} << 8, size - kHeader);
    Machine machine;
    machine.dtb.assign(data + kHeader, data + kHeader + dtb_size);
    machine.kernel.assign(data + kHeader + dtb_size, data + size);

    if (!fits_simulated_ram(machine.kernel) || !ram_fits_the_checks(machine.dtb)) return 0;
    if (flags & 4) {
        edit_config(machine.kernel, [&](loader_api::LoaderConfig& config) {
            config.preferred_paging_mode = static_cast<loader_api::PagingMode>(8 + (config_byte & 3));
            config.kaslr = static_cast<loader_api::Kaslr>((config_byte >> 2) & 3);
            config.start_harts = static_cast<loader_api::HartSelection>((config_byte >> 4) & 3);
            config.max_harts = kMaxHarts[config_byte >> 6];
        });
    }
    const std::uint64_t misalign = kMisalignments[(flags >> 3) & 3];
    SimulatedMemory memory;
    if (!place_inputs(machine, memory, misalign)) place_at_ram_start(machine, memory, misalign);
    auto& options = machine.input.options;
    const std::vector<std::uint8_t> entropy(8, entropy_byte);
    if (flags & 1) {
        options.entropy = entropy;
        options.entropy_sources = loader_api::kEntropyZkr;
    }
    options.identity_map_loader = (flags & 2) != 0;
    if (modes_byte & 7) {
        options.supported_modes = {};
        for (unsigned m = 0; m < 3; ++m)
            if (modes_byte & (1u << m)) options.supported_modes.add(static_cast<kmem::PagingModeId>(m));
    }
    if (flags & 32) {
        options.has_mode_cap = true;
        options.mode_cap = static_cast<kmem::PagingModeId>(((modes_byte >> 3) & 3) % 3);
    }

    // One Plan for every run: it is large, and make_plan must not depend on
    // what a previous plan left in it.
    static const auto plan = std::make_unique<Plan>();
    const auto result = loader_api::make_plan(machine.input, *plan, memory);
    if (!result) {
        const std::string text = text_of(result.error());
        if (loader_api::to_string(result.error().code) == std::string_view("?")) fail("an unnamed PlanErrorCode", text);
        if (text.size() <= std::string_view("plan: ").size() || text.find('\0') != std::string::npos)
            fail("an error without a message", text);
        return 0;
    }
    const Problems problems = check_plan(*plan, memory, machine.input);
    if (!problems.ok()) fail("a plan that fails its checks", problems.joined());
    std::size_t started = 0;
    for (const auto& hart : plan->boot_info().hart_table()) started += hart.state == loader_api::HartState::Started;
    if (started == 0) fail("a plan that starts no hart", "");
    return 0;
}
