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
// The simulated loader image, laid out as examples/reference_loader/
// linker.ld lays out the real one: OpenSBI's fw_dynamic jumps to RAM base +
// 2 MiB (0x80200000 on QEMU virt); the text segment holds the code and
// rodata, then the kernel's ELF file (page aligned, .kernel_elf), and the
// data segment follows the text page aligned. Code and data sizes are those
// of a gcc build of the reference loader (data is mostly the Plan and the
// hart stacks, so it hardly varies with the kernel).
constexpr std::uint64_t kLoaderOffset = k2M;
constexpr std::uint64_t kLoaderCode = 172 << 10;
constexpr std::uint64_t kLoaderData = 1988 << 10;
// What OpenSBI 1.1 (QEMU 7.2's firmware) adds to the tree it passes on:
// /reserved-memory/mmode_resv0@80000000, 256 KiB at RAM base, its own image
// under PMP protection. A tree dumped with -machine dumpdtb lacks it.
constexpr std::uint64_t kOpenSbiReserve = 256 << 10;

constexpr const char* kUsage =
    "usage: loader-plan --dtb BOARD.dtb --kernel KERNEL.elf [--mode sv39|sv48|sv57] [--seed HEX]\n"
    "                   [--probe sv39|sv48|sv57] [--boot-hart ID] [--tree-as-is] [--json | --svg FILE]\n";

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
        "  --mode MODE     cap the paging mode, as loader.paging=MODE on the loader's command line\n"
        "                  (PlanOptions mode cap): the plan uses the kernel's preferred mode or\n"
        "                  the widest mode below it that LoaderConfig [min, max], the hart and the\n"
        "                  cap allow, and fails with \"no paging mode\" when none is left\n"
        "  --probe MODE    the widest mode the boot hart's satp probe accepts (the probe accepts\n"
        "                  every narrower mode too); default: what the boot hart's mmu-type says.\n"
        "                  QEMU 7.2 writes riscv,sv48 for harts that implement Sv57: --probe sv57\n"
        "                  shows what the loader finds there\n"
        "  --seed HEX      entropy bytes as hex digits (e.g. 0123abcd), hashed together with the\n"
        "                  tree's /chosen/rng-seed if it has one. Without --seed the rng-seed\n"
        "                  alone is used; with neither, KASLR is off and the plan warns\n"
        "  --boot-hart ID  the hart the firmware boots on (default: the first enabled hart\n"
        "                  whose mmu-type names an Sv39/48/57 MMU)\n"
        "  --tree-as-is    do not add OpenSBI's reservation (below) to the tree\n"
        "  --json          print the whole plan as JSON (inputs, plan, BootInfo) instead\n"
        "  --svg FILE      write a picture of the physical and virtual address spaces to FILE\n"
        "                  (the report is still printed)\n"
        "\n"
        "Simulated placement (the planner needs physical addresses for its inputs), as the\n"
        "reference loader runs on QEMU virt; RAM base is the lowest memory range of the tree:\n"
        "  loader text   RAM base + 2 MiB (0x80200000 on QEMU virt, where OpenSBI jumps):\n"
        "                172 KiB of code, then the kernel file (page aligned) as linked into\n"
        "                the image; the text ends at the next page after the kernel file\n"
        "  loader data   1988 KiB right after the text\n"
        "  device tree   where QEMU puts it: the highest 2 MiB boundary that leaves room\n"
        "                below min(end of the first RAM range, 3 GiB); after the loader when\n"
        "                that does not fit\n"
        "  firmware      a tree dumped by QEMU (-machine virt,dumpdtb=F) lacks the reservation\n"
        "                OpenSBI 1.1 adds for itself at run time; when the tree reserves\n"
        "                nothing of [RAM base, RAM base + 256 KiB) the tool adds that range as\n"
        "                a /memreserve/ entry (--tree-as-is: it does not)\n"
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

std::optional<kmem::PagingModeId> parse_mode(std::string_view text) {
    if (text == "sv39" || text == "Sv39") return kmem::PagingModeId::Sv39;
    if (text == "sv48" || text == "Sv48") return kmem::PagingModeId::Sv48;
    if (text == "sv57" || text == "Sv57") return kmem::PagingModeId::Sv57;
    return std::nullopt;
}

struct Options {
    std::string dtb;
    std::string kernel;
    std::optional<kmem::PagingModeId> mode;
    std::optional<kmem::PagingModeId> probe;
    std::optional<std::vector<std::uint8_t>> seed;
    std::optional<std::uint64_t> boot_hart;
    bool tree_as_is = false;
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
        } else if (arg == "--mode" || arg == "--probe") {
            const std::string text = value();
            const auto mode = parse_mode(text);
            if (!mode) usage_error(std::string(arg) + " must be sv39, sv48 or sv57, not \"" + text + "\"");
            (arg == "--mode" ? options.mode : options.probe) = mode;
        } else if (arg == "--tree-as-is") {
            options.tree_as_is = true;
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

std::optional<kmem::PagingModeId> mmu_mode(const loader_api::fdt::Hart& hart) {
    if (!hart.enabled() || !hart.mmu_type.starts_with("riscv,")) return std::nullopt;
    return parse_mode(hart.mmu_type.substr(6));
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

void store_be(std::vector<std::uint8_t>& bytes, std::size_t at, std::uint64_t value, int width) {
    for (int i = 0; i < width; ++i) bytes[at + i] = static_cast<std::uint8_t>(value >> (8 * (width - 1 - i)));
}

// The tree (totalsize bytes of it) with one more /memreserve/ entry: 16
// bytes go in where the map's terminator is, and every block behind it and
// totalsize move by 16. Only for a tree the reader accepted.
std::vector<std::uint8_t> with_memreserve(const std::vector<std::uint8_t>& dtb, kmem::PhysicalRange range) {
    namespace fdt = loader_api::fdt;
    const auto parsed = fdt::Fdt::create(fdt::Bytes(dtb.data(), dtb.size()));
    KMEM_ASSERT(parsed.has_value());
    const fdt::Header& header = parsed.value().header();
    std::size_t at = header.off_mem_rsvmap;
    // The reader's rule: the map ends at the first entry of size 0.
    while (fdt::load_be64(dtb, at + 8) != 0) at += 16;
    std::vector<std::uint8_t> out(dtb.begin(), dtb.begin() + header.totalsize);
    out.insert(out.begin() + static_cast<std::ptrdiff_t>(at), 16, 0);
    store_be(out, at, range.begin().value(), 8);
    store_be(out, at + 8, range.size(), 8);
    store_be(out, 4, header.totalsize + 16, 4);
    for (std::size_t field : {8, 12, 16}) {
        const std::uint32_t offset = fdt::load_be32(dtb, field);
        if (offset > at) store_be(out, field, offset + 16, 4);
    }
    return out;
}

int run(int argc, char** argv) {
    const Options options = parse_options(argc, argv);
    Context context;
    context.dtb_path = options.dtb;
    context.kernel_path = options.kernel;

    std::vector<std::uint8_t> dtb = read_file(options.dtb);
    const std::vector<std::uint8_t> kernel = read_file(options.kernel);
    const std::span<const std::byte> kernel_bytes(reinterpret_cast<const std::byte*>(kernel.data()), kernel.size());

    // The readers first, so that a malformed file is reported as its reader
    // words it, against its own name; the planner reads both again.
    auto machine = std::make_unique<loader_api::fdt::MachineInfo>();
    if (auto read = loader_api::fdt::read_machine_info(loader_api::fdt::Bytes(dtb.data(), dtb.size()), *machine); !read)
        input_error(options.dtb, text_of(read.error()));
    if (auto elf = loader_api::ElfFile::parse(kernel_bytes); !elf) input_error(options.kernel, text_of(elf.error()));
    if (machine->memory.empty()) input_error(options.dtb, "the tree has no memory node");

    // Placement relative to the lowest RAM range (QEMU virt: 0x80000000).
    kmem::PhysicalRange first_ram = machine->memory[0].range;
    for (const auto& memory : machine->memory)
        if (memory.range.begin() < first_ram.begin()) first_ram = memory.range;
    const std::uint64_t base = kmem::align_up(first_ram.begin().value(), k4K).value_or(first_ram.begin().value());

    // OpenSBI's own reservation, unless the tree has one there already.
    context.firmware = {kmem::PhysicalAddress(base), kmem::PhysicalAddress(base + kOpenSbiReserve)};
    bool firmware_reserved = false;
    for (const auto& reserved : machine->reserved) firmware_reserved |= reserved.range.overlaps(context.firmware);
    if (!firmware_reserved && options.tree_as_is) context.firmware_unreserved = true;
    if (!firmware_reserved && !options.tree_as_is) {
        dtb = with_memreserve(dtb, context.firmware);
        context.firmware_added = true;
        if (auto read = loader_api::fdt::read_machine_info(loader_api::fdt::Bytes(dtb.data(), dtb.size()), *machine); !read)
            input_error(options.dtb, "with OpenSBI's reservation added: " + text_of(read.error()));
    }

    const std::uint64_t loader = base + kLoaderOffset;
    const std::uint64_t kernel_at = loader + kLoaderCode;
    context.kernel_file = {kmem::PhysicalAddress(kernel_at), kmem::PhysicalAddress(kernel_at + kernel.size())};
    const std::uint64_t text_end = kmem::align_up(context.kernel_file.end().value(), k4K).value_or(0);
    context.loader_text = {kmem::PhysicalAddress(loader), kmem::PhysicalAddress(text_end)};
    context.loader_data = {context.loader_text.end(), context.loader_text.end() + kLoaderData};
    // The header's totalsize, not the file's: QEMU's dumps are padded.
    const std::uint64_t dtb_size = machine->fdt_size != 0 ? machine->fdt_size : dtb.size();
    const std::uint64_t after_loader = context.loader_data.end().value();
    std::uint64_t dtb_at = after_loader;
    if (auto qemu = qemu_fdt_address(first_ram, dtb_size); qemu && *qemu >= after_loader) dtb_at = *qemu;
    context.device_tree = {kmem::PhysicalAddress(dtb_at), kmem::PhysicalAddress(dtb_at + dtb_size)};

    const loader_api::fdt::Hart* boot = nullptr;
    if (options.boot_hart) {
        context.boot_hart = *options.boot_hart;
        context.boot_hart_given = true;
        boot = machine->find_hart(context.boot_hart);
    } else {
        for (const auto& hart : machine->harts)
            if (boot == nullptr && mmu_mode(hart)) boot = &hart;
        if (boot == nullptr && !machine->harts.empty()) boot = &machine->harts[0];
        context.boot_hart = boot != nullptr ? boot->hart_id : 0;
    }

    loader_api::PlanInput input;
    input.device_tree = {dtb.data(), dtb.size()};
    input.device_tree_address = context.device_tree.begin();
    input.kernel = kernel_bytes;
    input.kernel_address = context.kernel_file.begin();
    input.options.loader_text = context.loader_text;
    input.options.loader_data = context.loader_data;
    input.options.boot_hart_id = context.boot_hart;
    // The probe accepts its widest mode and every narrower one. A boot hart
    // without an MMU the tree names leaves the set empty: the planner says
    // what is wrong with that hart.
    std::optional<kmem::PagingModeId> probed = options.probe;
    if (!probed && boot != nullptr) probed = mmu_mode(*boot);
    loader_api::PagingModeSet supported;
    if (probed) {
        context.probed = *probed;
        context.probe_given = options.probe.has_value();
        for (auto mode : {kmem::PagingModeId::Sv39, kmem::PagingModeId::Sv48, kmem::PagingModeId::Sv57})
            if (static_cast<unsigned>(mode) <= static_cast<unsigned>(*probed)) supported.add(mode);
    }
    input.options.supported_modes = supported;
    if (options.mode) {
        context.mode_capped = true;
        context.mode_cap = *options.mode;
        input.options.has_mode_cap = true;
        input.options.mode_cap = *options.mode;
    }
    context.rng_seed_bytes = machine->chosen.rng_seed.size();
    if (options.seed) {
        input.options.entropy = *options.seed;
        input.options.entropy_sources = loader_api::kEntropyZkr;  // stands for the loader's own source
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
