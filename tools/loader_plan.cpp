// loader-plan: what the loader will do with a kernel on a board, computed on
// the host by the same planner the loader runs (loader_api/plan.hpp) over a
// simulated physical memory. See usage() for the options.

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loader_api/elf.hpp"
#include "loader_api/fdt.hpp"
#include "loader_api/host/plan_inspect.hpp"
#include "loader_api/host/simulated_memory.hpp"
#include "loader_api/plan.hpp"
#include "plan_context.hpp"
#include "plan_json.hpp"
#include "plan_report.hpp"
#include "plan_svg.hpp"
#include "tool_text.hpp"

namespace loader_plan {
namespace {

constexpr int kExitInput = 1;
constexpr int kExitUsage = 2;

constexpr std::uint64_t k4K = kmem::kPageSize;
constexpr std::uint64_t k2M = std::uint64_t{2} << 20;
constexpr std::uint64_t k3G = std::uint64_t{3} << 30;
// The simulated loader image: where OpenSBI's fw_dynamic jumps on QEMU virt
// (RAM base + 2 MiB, examples/reference_loader/linker.ld), 128 KiB of text
// and 896 KiB of data and bss (the loader keeps MachineInfo and the Plan
// there); the kernel file follows the image.
constexpr std::uint64_t kLoaderOffset = k2M;
constexpr std::uint64_t kLoaderText = 128 << 10;
constexpr std::uint64_t kLoaderData = 896 << 10;

constexpr const char* kUsage =
    "usage: loader-plan --dtb BOARD.dtb --kernel KERNEL.elf [--mode sv39|sv48|sv57] [--seed HEX]\n"
    "                   [--boot-hart ID] [--json | --svg FILE]\n";

void usage(std::FILE* to) {
    std::fputs(kUsage, to);
    std::fputs(
        "\n"
        "Runs the boot planner of the reference loader on the host and shows what the\n"
        "loader would do with KERNEL on BOARD: harts, physical memory map, virtual layout,\n"
        "page tables, KASLR positions and warnings.\n"
        "\n"
        "  --dtb FILE      the flattened device tree the loader gets from the firmware\n"
        "  --kernel FILE   the kernel ELF (with its .loader_config section)\n"
        "  --mode MODE     force the paging mode: the machine is simulated as accepting only\n"
        "                  MODE in satp (PlanOptions.supported_modes = {MODE}) and MODE is the\n"
        "                  loader.paging= cap. The plan uses MODE when the kernel's LoaderConfig\n"
        "                  range [min, max] and the boot hart's mmu-type allow it, and fails with\n"
        "                  \"no paging mode\" otherwise. Without --mode every mode is accepted and\n"
        "                  the kernel's preferred mode wins where the harts support it.\n"
        "  --seed HEX      entropy bytes as hex digits (e.g. 0123abcd); with it KASLR positions\n"
        "                  are drawn from it (and the tree's /chosen/rng-seed, if any). Without\n"
        "                  it the tree's /chosen/rng-seed is used; with neither, KASLR is off and\n"
        "                  the plan says so in a warning.\n"
        "  --boot-hart ID  the hart the firmware boots on (default: the first enabled hart\n"
        "                  whose mmu-type names an Sv39/48/57 MMU)\n"
        "  --json          print the whole plan as JSON (plan, BootInfo, inputs) instead\n"
        "  --svg FILE      write a picture of the physical and virtual address spaces to FILE\n"
        "                  (the report is still printed)\n"
        "\n"
        "Simulated placement (the planner needs physical addresses for its inputs):\n"
        "  loader image  RAM base + 2 MiB (0x80200000 on QEMU virt, where OpenSBI jumps):\n"
        "                128 KiB text, then 896 KiB data\n"
        "  kernel file   right after the loader image, page aligned\n"
        "  device tree   where QEMU puts it: the highest 2 MiB boundary that leaves room\n"
        "                below min(end of the first RAM range, 3 GiB); after the kernel file\n"
        "                when that does not fit\n"
        "RAM base is the lowest memory range of the tree. The tree is taken as is: a tree\n"
        "dumped by QEMU (-machine virt,dumpdtb=F) lacks the reservation OpenSBI adds for\n"
        "itself below the loader, so the plan may use those frames.\n"
        "\n"
        "Exit status: 0 planned, 1 an input is unreadable or malformed or the planner refused\n"
        "it (the message is the reader's or the planner's, after the file name), 2 usage.\n",
        to);
}

[[noreturn]] void usage_error(const std::string& message) {
    std::fprintf(stderr, "loader-plan: %s\n%s", message.c_str(), kUsage);
    std::exit(kExitUsage);
}

[[noreturn]] void input_error(const std::string& file, const std::string& message) {
    std::fprintf(stderr, "loader-plan: %s: %s\n", file.c_str(), message.c_str());
    std::exit(kExitInput);
}

std::vector<std::uint8_t> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) input_error(path, std::string("cannot read: ") + std::strerror(errno));
    std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (in.bad()) input_error(path, "read error");
    return bytes;
}

std::optional<std::vector<std::uint8_t>> parse_hex_bytes(std::string_view text) {
    if (text.starts_with("0x") || text.starts_with("0X")) text.remove_prefix(2);
    if (text.empty() || text.size() % 2 != 0) return std::nullopt;
    auto digit = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::vector<std::uint8_t> bytes;
    for (std::size_t i = 0; i < text.size(); i += 2) {
        const int high = digit(text[i]), low = digit(text[i + 1]);
        if (high < 0 || low < 0) return std::nullopt;
        bytes.push_back(static_cast<std::uint8_t>(high << 4 | low));
    }
    return bytes;
}

std::optional<std::uint64_t> parse_number(const std::string& text) {
    if (text.empty()) return std::nullopt;
    char* end = nullptr;
    errno = 0;
    const unsigned long long value = std::strtoull(text.c_str(), &end, 0);
    if (errno != 0 || *end != '\0' || text[0] == '-') return std::nullopt;
    return value;
}

struct Options {
    std::string dtb;
    std::string kernel;
    std::optional<kmem::PagingModeId> mode;
    std::optional<std::vector<std::uint8_t>> seed;
    std::optional<std::uint64_t> boot_hart;
    bool json = false;
    std::string svg;
};

Options parse_options(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage_error(std::string(arg) + " needs a value");
            return argv[++i];
        };
        if (arg == "-h" || arg == "--help") {
            usage(stdout);
            std::exit(0);
        } else if (arg == "--dtb") {
            options.dtb = value();
        } else if (arg == "--kernel") {
            options.kernel = value();
        } else if (arg == "--mode") {
            const std::string mode = value();
            if (mode == "sv39" || mode == "Sv39") options.mode = kmem::PagingModeId::Sv39;
            else if (mode == "sv48" || mode == "Sv48") options.mode = kmem::PagingModeId::Sv48;
            else if (mode == "sv57" || mode == "Sv57") options.mode = kmem::PagingModeId::Sv57;
            else usage_error("--mode must be sv39, sv48 or sv57, not \"" + mode + "\"");
        } else if (arg == "--seed") {
            const std::string text = value();
            options.seed = parse_hex_bytes(text);
            if (!options.seed) usage_error("--seed wants an even number of hex digits, not \"" + text + "\"");
        } else if (arg == "--boot-hart") {
            const std::string text = value();
            options.boot_hart = parse_number(text);
            if (!options.boot_hart) usage_error("--boot-hart wants a number, not \"" + text + "\"");
        } else if (arg == "--json") {
            options.json = true;
        } else if (arg == "--svg") {
            options.svg = value();
            if (options.svg.empty()) usage_error("--svg needs a file name");
        } else {
            usage_error("unknown argument \"" + std::string(arg) + "\"");
        }
    }
    if (options.dtb.empty()) usage_error("--dtb is required");
    if (options.kernel.empty()) usage_error("--kernel is required");
    if (options.json && !options.svg.empty()) usage_error("--json and --svg exclude each other");
    return options;
}

bool has_paging_mmu(const loader_api::fdt::Hart& hart) {
    return hart.enabled() && (hart.mmu_type == "riscv,sv39" || hart.mmu_type == "riscv,sv48" || hart.mmu_type == "riscv,sv57");
}

// Where QEMU's riscv_compute_fdt_addr puts the tree: below 3 GiB when RAM
// starts there, 2 MiB aligned, at the top of the first RAM range.
std::optional<std::uint64_t> qemu_fdt_address(kmem::PhysicalRange first_ram, std::uint64_t size) {
    std::uint64_t top = first_ram.end().value();
    if (first_ram.begin().value() < k3G && top > k3G) top = k3G;
    if (top < size + first_ram.begin().value()) return std::nullopt;
    const std::uint64_t at = kmem::align_down(top - size, k2M);
    if (at < first_ram.begin().value()) return std::nullopt;
    return at;
}

int run(int argc, char** argv) {
    const Options options = parse_options(argc, argv);
    Context context;
    context.dtb_path = options.dtb;
    context.kernel_path = options.kernel;

    const std::vector<std::uint8_t> dtb = read_file(options.dtb);
    const std::vector<std::uint8_t> kernel = read_file(options.kernel);
    const std::span<const std::byte> kernel_bytes(reinterpret_cast<const std::byte*>(kernel.data()), kernel.size());

    // The readers first, so that a malformed file is reported as its reader
    // words it, against its own name; the planner reads both again.
    auto machine = std::make_unique<loader_api::fdt::MachineInfo>();
    if (auto read = loader_api::fdt::read_machine_info(loader_api::fdt::Bytes(dtb.data(), dtb.size()), *machine); !read)
        input_error(options.dtb, text_of(read.error()));
    if (auto elf = loader_api::ElfFile::parse(kernel_bytes); !elf) input_error(options.kernel, text_of(elf.error()));

    // Placement relative to the lowest RAM range (QEMU virt: 0x80000000).
    kmem::PhysicalRange first_ram{kmem::PhysicalAddress(0x80000000), kmem::PhysicalAddress(0x80000000)};
    for (std::size_t i = 0; i < machine->memory.size(); ++i)
        if (i == 0 || machine->memory[i].range.begin() < first_ram.begin()) first_ram = machine->memory[i].range;
    const std::uint64_t base = kmem::align_up(first_ram.begin().value(), k4K).value_or(first_ram.begin().value());
    const std::uint64_t loader = base + kLoaderOffset;
    context.loader_text = {kmem::PhysicalAddress(loader), kmem::PhysicalAddress(loader + kLoaderText)};
    context.loader_data = {context.loader_text.end(), context.loader_text.end() + kLoaderData};
    const std::uint64_t kernel_at = context.loader_data.end().value();
    context.kernel_file = {kmem::PhysicalAddress(kernel_at), kmem::PhysicalAddress(kernel_at + kernel.size())};
    // The header's totalsize, not the file's: QEMU pads its dumps to 1 MiB.
    const std::uint64_t dtb_size = machine->fdt_size != 0 ? machine->fdt_size : dtb.size();
    const std::uint64_t after_kernel = kmem::align_up(context.kernel_file.end().value(), k4K).value_or(0);
    std::uint64_t dtb_at = after_kernel;
    if (auto qemu = qemu_fdt_address(first_ram, dtb_size); qemu && *qemu >= after_kernel) dtb_at = *qemu;
    context.device_tree = {kmem::PhysicalAddress(dtb_at), kmem::PhysicalAddress(dtb_at + dtb_size)};

    // On QEMU the firmware occupies [RAM base, loader); OpenSBI reserves it
    // in the tree it passes on, a dumped tree does not.
    const kmem::PhysicalRange firmware{kmem::PhysicalAddress(base), context.loader_text.begin()};
    context.firmware_unreserved = true;
    for (const auto& reserved : machine->reserved)
        if (reserved.range.overlaps(firmware)) context.firmware_unreserved = false;
    context.firmware = firmware;

    if (options.boot_hart) {
        context.boot_hart = *options.boot_hart;
        context.boot_hart_given = true;
    } else {
        const loader_api::fdt::Hart* chosen = nullptr;
        for (const auto& hart : machine->harts)
            if (chosen == nullptr && has_paging_mmu(hart)) chosen = &hart;
        if (chosen == nullptr && !machine->harts.empty()) chosen = &machine->harts[0];
        context.boot_hart = chosen != nullptr ? chosen->hart_id : 0;
    }

    loader_api::PlanInput input;
    input.device_tree = {dtb.data(), dtb.size()};
    input.device_tree_address = context.device_tree.begin();
    input.kernel = kernel_bytes;
    input.kernel_address = context.kernel_file.begin();
    input.options.loader_text = context.loader_text;
    input.options.loader_data = context.loader_data;
    input.options.boot_hart_id = context.boot_hart;
    if (options.mode) {
        context.mode_forced = true;
        context.forced_mode = *options.mode;
        input.options.supported_modes = loader_api::PagingModeSet().add(*options.mode);
        input.options.has_mode_cap = true;
        input.options.mode_cap = *options.mode;
    }
    if (options.seed) {
        input.options.entropy = *options.seed;
        context.entropy = EntropySource::Seed;
        context.entropy_bytes = options.seed->size();
    } else if (!machine->chosen.rng_seed.empty()) {
        context.entropy = EntropySource::RngSeed;
        context.entropy_bytes = machine->chosen.rng_seed.size();
    }

    loader_api::host::SimulatedMemory memory;
    memory.store(context.kernel_file.begin(), kernel_bytes);
    memory.store(context.device_tree.begin(),
                 std::span<const std::byte>(reinterpret_cast<const std::byte*>(dtb.data()), dtb.size()));

    auto plan = std::make_unique<loader_api::Plan>();
    if (auto planned = loader_api::make_plan(input, *plan, memory); !planned) {
        using Code = loader_api::PlanErrorCode;
        const auto& error = planned.error();
        std::string file = options.dtb + " + " + options.kernel;
        switch (error.code) {
            case Code::DeviceTree: file = options.dtb; break;
            case Code::KernelElf:
            case Code::MissingLoaderConfig:
            case Code::BadLoaderConfig:
            case Code::WriteExecute:
            case Code::SharedPageWriteExecute:
            case Code::Relocation:
            case Code::EntryNotExecutable:
            case Code::KernelDoesNotFit: file = options.kernel; break;
            default: break;
        }
        input_error(file, text_of(error));
    }
    context.plan = plan.get();
    context.minimum_table_frames = loader_api::host::minimum_table_frames(*plan, memory);

    if (options.json) {
        std::string out;
        StringSink sink{&out};
        write_json_document(sink, context);
        out += '\n';
        std::fwrite(out.data(), 1, out.size(), stdout);
        return 0;
    }
    if (!options.svg.empty()) {
        const std::string picture = svg(context);
        std::ofstream file(options.svg, std::ios::binary);
        file << picture;
        file.close();
        if (!file) input_error(options.svg, std::string("cannot write: ") + std::strerror(errno));
    }
    const std::string text = report(context);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
}

}  // namespace
}  // namespace loader_plan

int main(int argc, char** argv) { return loader_plan::run(argc, argv); }
