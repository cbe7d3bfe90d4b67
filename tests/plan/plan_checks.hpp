#pragma once
// Shared by the planner tests: loading files, placing a machine's inputs in
// simulated RAM, patching the kernel's LoaderConfig, and check_plan(), which
// verifies a finished plan against the inputs without trusting the planner's
// own bookkeeping: it walks the page tables in simulated memory and rebuilds
// the kernel image from the ELF file.

#include <algorithm>
#include <array>
#include <bitset>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "loader_api/audit.hpp"
#include "loader_api/host/plan_inspect.hpp"
#include "loader_api/host/simulated_memory.hpp"
#include "loader_api/host/text.hpp"
#include "loader_api/plan.hpp"
#include "loader_api/validate.hpp"

namespace plan_test {

using loader_api::host::text_of;

using kmem::PhysicalAddress;
using kmem::PhysicalRange;
using kmem::VirtualAddress;
using kmem::VirtualRange;
using loader_api::Plan;
using loader_api::host::SimulatedMemory;

constexpr std::uint64_t k4K = 4096;
constexpr std::uint64_t k2M = 2 << 20;

inline std::vector<std::uint8_t> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::string env(const char* name) {
    const char* value = std::getenv(name);
    return value == nullptr ? std::string() : std::string(value);
}

inline std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::stringstream stream(text);
    for (std::string part; std::getline(stream, part, separator);)
        if (!part.empty()) parts.push_back(part);
    return parts;
}

inline std::span<const std::byte> as_bytes(const std::vector<std::uint8_t>& bytes) {
    return {reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()};
}

// The kernel's .loader_config inside its file bytes, to vary it per test.
inline loader_api::LoaderConfig* config_in(std::vector<std::uint8_t>& kernel) {
    auto elf = loader_api::ElfFile::parse(as_bytes(kernel));
    if (!elf) return nullptr;
    auto section = elf->find_section(".loader_config");
    if (!section || section->size < sizeof(loader_api::LoaderConfig)) return nullptr;
    return reinterpret_cast<loader_api::LoaderConfig*>(kernel.data() + section->offset);
}

// Where a test machine's inputs go: loader text and data, the kernel file
// and the device tree, in the first RAM range (which must hold 8 MiB).
struct Machine {
    std::vector<std::uint8_t> dtb;
    std::vector<std::uint8_t> kernel;
    loader_api::PlanInput input;
};

inline bool first_usable_hart(const loader_api::fdt::MachineInfo& info, std::uint64_t& hart_id) {
    for (const auto& hart : info.harts) {
        if (hart.enabled() && hart.has_mmu_type &&
            (hart.mmu_type == "riscv,sv39" || hart.mmu_type == "riscv,sv48" || hart.mmu_type == "riscv,sv57")) {
            hart_id = hart.hart_id;
            return true;
        }
    }
    return false;
}

// Places everything relative to the lowest RAM range; returns false when
// the tree cannot be read or has no room (the caller reports it).
inline bool place_inputs(Machine& machine, SimulatedMemory& memory, std::uint64_t kernel_misalign = 0) {
    auto info = std::make_unique<loader_api::fdt::MachineInfo>();
    if (!loader_api::fdt::read_machine_info(loader_api::fdt::Bytes(machine.dtb.data(), machine.dtb.size()), *info))
        return false;
    if (info->memory.empty()) return false;
    PhysicalRange first = info->memory[0].range;
    for (const auto& range : info->memory)
        if (range.range.begin() < first.begin()) first = range.range;
    const std::uint64_t base = (first.begin().value() + k4K - 1) & ~(k4K - 1);
    const std::uint64_t dtb_size = info->fdt_size;
    if (first.size() < 8 * (1 << 20) || dtb_size > 2 * (1 << 20)) return false;
    auto& options = machine.input.options;
    options.loader_text = {PhysicalAddress(base + k2M), PhysicalAddress(base + k2M + 0x10000)};
    options.loader_data = {PhysicalAddress(base + k2M + 0x10000), PhysicalAddress(base + k2M + 0x30000)};
    machine.input.kernel_address = PhysicalAddress(base + k2M + 0x30000 + kernel_misalign);
    machine.input.kernel = as_bytes(machine.kernel);
    const std::uint64_t dtb_at = base + 5 * (1 << 20);
    machine.input.device_tree_address = PhysicalAddress(dtb_at);
    machine.input.device_tree = {machine.dtb.data(), machine.dtb.size()};
    if (!first_usable_hart(*info, options.boot_hart_id)) options.boot_hart_id = info->harts.empty() ? 0 : info->harts[0].hart_id;
    options.loader_entry_time = 1000;
    options.loader_entry_instret = 2000;
    memory.store(machine.input.kernel_address, machine.input.kernel);
    memory.store(PhysicalAddress(dtb_at), as_bytes(machine.dtb));
    return true;
}

// --- The checks ------------------------------------------------------------------

struct Problems {
    std::vector<std::string> list;
    void add(const std::string& text) {
        if (list.size() < 20) list.push_back(text);
    }
    bool ok() const { return list.empty(); }
    std::string joined() const {
        std::string out;
        for (const auto& p : list) out += "  " + p + "\n";
        return out;
    }
};

inline std::string hex(std::uint64_t value) {
    std::ostringstream out;
    out << "0x" << std::hex << value;
    return out.str();
}

// The kernel image as the kernel must see it at its linked addresses, built
// from the file: segments' file bytes, zeros, then every relocation. Kept
// page by page, for the pages segments touch only: a fuzzed kernel may
// spread two small segments terabytes apart.
struct ExpectedPage {
    std::array<std::uint8_t, k4K> bytes{};
    std::bitset<k4K> in_segment;
};
struct ExpectedImage {
    std::map<std::uint64_t, ExpectedPage> pages;  // by linked page address

    std::uint8_t byte(std::uint64_t address) const {
        const auto it = pages.find(address & ~(k4K - 1));
        return it == pages.end() ? 0 : it->second.bytes[address & (k4K - 1)];
    }
};

inline ExpectedImage expected_image(const loader_api::ElfFile& elf, std::uint64_t slide) {
    ExpectedImage image;
    for (const auto segment : elf.load_segments()) {
        for (std::uint64_t i = 0; i < segment.memsz; ++i) {
            const std::uint64_t address = segment.vaddr.value() + i;
            ExpectedPage& page = image.pages[address & ~(k4K - 1)];
            page.in_segment.set(address & (k4K - 1));
            if (i < segment.file_bytes.size())
                page.bytes[address & (k4K - 1)] = std::to_integer<std::uint8_t>(segment.file_bytes[i]);
        }
    }
    (void)elf.for_each_relocation(slide, [&](const loader_api::Relocation& relocation) {
        for (unsigned i = 0; i < 8; ++i) {
            const std::uint64_t address = relocation.target.value() + i;
            image.pages[address & ~(k4K - 1)].bytes[address & (k4K - 1)] = static_cast<std::uint8_t>(relocation.value >> (8 * i));
        }
    });
    return image;
}

// Permissions the ELF asks for on the page at linked `page`: the union of
// the PT_LOAD segments touching it, W removed inside RELRO (glibc rounding).
inline kmem::PageFlags expected_flags(const loader_api::ElfFile& elf, std::uint64_t page, bool& shared) {
    kmem::PageFlags flags{};
    int count = 0;
    std::uint32_t first_flags = 0;
    shared = false;
    for (const auto segment : elf.load_segments()) {
        if (segment.memsz == 0) continue;
        const std::uint64_t lo = segment.vaddr.value() & ~(k4K - 1);
        const std::uint64_t hi = (segment.vaddr.value() + segment.memsz + k4K - 1) & ~(k4K - 1);
        if (page < lo || page >= hi) continue;
        if (count++ == 0) first_flags = segment.flags;
        else shared = shared || segment.flags != first_flags;
        flags.read = flags.read || segment.readable();
        flags.write = flags.write || segment.writable();
        flags.execute = flags.execute || segment.executable();
    }
    if (flags.write || (!flags.read && !flags.execute)) flags.read = true;
    const auto relro = elf.relro();
    if (relro.present) {
        const std::uint64_t lo = relro.range.begin().value() & ~(k4K - 1);
        const std::uint64_t hi = relro.range.end().value() & ~(k4K - 1);
        if (page >= lo && page + k4K <= hi) flags.write = false;
    }
    return flags;
}

inline bool same_permissions(kmem::PageFlags a, kmem::PageFlags b) {
    return a.read == b.read && a.write == b.write && a.execute == b.execute && a.user == b.user;
}

inline Problems check_plan(const Plan& plan, SimulatedMemory& memory, const loader_api::PlanInput& input) {
    Problems problems;
    const loader_api::BootInfo& info = plan.boot_info();

    // 1. validate(), on the planner's copy and on the block in memory.
    if (auto valid = loader_api::validate(info, plan.boot_info_size); !valid)
        problems.add("validate: " + text_of(valid.error()));
    const auto in_memory = memory.load(plan.boot_info_physical, plan.boot_info_size);
    if (std::memcmp(in_memory.data(), plan.boot_info_bytes.data(), plan.boot_info_size) != 0)
        problems.add("BootInfo in memory differs from the plan's copy");

    // 2. Allocations: inside RAM, disjoint, never in reserved memory.
    // RAM as the memory map says, adjacent regions merged, up to where the
    // physmap ends (the first UsableUnmapped region): nothing is placed beyond.
    std::vector<PhysicalRange> ram;
    for (const auto& region : info.regions()) {
        if (region.kind == loader_api::MemoryRegionKind::UsableUnmapped) break;
        if (!ram.empty() && ram.back().end().value() == region.range.begin)
            ram.back() = {ram.back().begin(), PhysicalAddress(region.range.end)};
        else
            ram.push_back(region.range.get());
    }
    auto in_ram = [&](PhysicalRange range) {
        for (const auto& r : ram)
            if (r.contains(range)) return true;
        return false;
    };
    std::vector<std::pair<PhysicalRange, const loader_api::Allocation*>> planned;
    for (const auto& allocation : plan.allocations) {
        if (allocation.origin != loader_api::AllocationOrigin::Planner) continue;
        planned.push_back({allocation.range, &allocation});
        if (!in_ram(allocation.range)) problems.add("allocation outside RAM: " + text_of(allocation.range));
        for (const auto& reserved : plan.machine.reserved)
            if (reserved.range.overlaps(allocation.range))
                problems.add("allocation " + std::string(allocation.label) + " in reserved memory " + text_of(reserved.range));
        for (const auto& other : plan.allocations) {
            if (other.origin == loader_api::AllocationOrigin::Planner) continue;
            const PhysicalRange pages{other.range.begin().align_down(k4K),
                                      PhysicalAddress((other.range.end().value() + k4K - 1) & ~(k4K - 1))};
            if (!other.range.empty() && pages.overlaps(allocation.range))
                problems.add("allocation " + std::string(allocation.label) + " overlaps input " + std::string(other.label));
        }
    }
    std::sort(planned.begin(), planned.end(), [](auto& a, auto& b) { return a.first.begin() < b.first.begin(); });
    for (std::size_t i = 1; i < planned.size(); ++i)
        if (planned[i].first.overlaps(planned[i - 1].first))
            problems.add("allocations overlap: " + text_of(planned[i - 1].first) + " and " + text_of(planned[i].first));
    // Every planned allocation lies in regions of its kind.
    for (const auto& [range, allocation] : planned) {
        for (std::uint64_t page = range.begin().value(); page < range.end().value(); page += k4K) {
            bool ok = false;
            for (const auto& region : info.regions())
                if (region.range.get().contains(PhysicalAddress(page))) ok = region.kind == allocation->kind;
            if (!ok) {
                problems.add("allocation " + std::string(allocation->label) + " page " + hex(page) + " not in a region of its kind");
                break;
            }
        }
    }

    // 3. Page tables: every table frame in a PageTables allocation, as many as
    //    the planner says and no more than the leaves need.
    const auto tables = loader_api::host::collect_tables(plan, memory);
    for (const auto table : tables) {
        bool ok = false;
        for (const auto& allocation : plan.allocations)
            ok = ok || (allocation.kind == loader_api::MemoryRegionKind::PageTables && allocation.range.contains(table));
        if (!ok) problems.add("table frame " + hex(table.value()) + " not in a PageTables allocation");
    }
    const auto leaves = loader_api::host::collect_leaves(plan, memory);
    const std::uint64_t minimum = kmem::with_paging_mode(plan.mode, [&]<kmem::PagingMode M>(M) {
        return kmem::minimum_table_frames<M>(leaves);
    });
    if (tables.size() != plan.stats.table_frames)
        problems.add("tables reachable " + std::to_string(tables.size()) + " != planner's count " +
                     std::to_string(plan.stats.table_frames));
    if (tables.size() != minimum)
        problems.add("tables " + std::to_string(tables.size()) + " != minimum " + std::to_string(minimum));
    const std::uint64_t satp = kmem::with_paging_mode(plan.mode, [&]<kmem::PagingMode M>(M) { return M::satp(plan.root); });
    if (satp != plan.satp) problems.add("satp " + hex(plan.satp) + " != " + hex(satp));

    // 4. Every leaf belongs to exactly one planned area and translates as
    //    planned; every mapped area is covered; guards are holes.
    std::uint64_t mapped_by_leaves = 0;
    for (const auto& leaf : leaves) {
        mapped_by_leaves += leaf.size;
        if (!leaf.pte.accessed() || !leaf.pte.dirty() || leaf.pte.user() || leaf.pte.global())
            problems.add("leaf " + hex(leaf.va.value()) + " has unexpected A/D/U/G bits");
        const loader_api::VirtualArea* owner = nullptr;
        for (const auto& area : plan.areas)
            if (area.mapped && area.range.contains(leaf.va)) owner = &area;
        if (owner == nullptr) {
            problems.add("leaf " + hex(leaf.va.value()) + " maps nothing the plan lists");
            continue;
        }
        if (leaf.va.value() + leaf.size > owner->range.end().value() && leaf.va.value() + leaf.size != 0)
            problems.add("leaf " + hex(leaf.va.value()) + " runs past its area " + std::string(owner->label));
        if (owner->kind == loader_api::AreaKind::Physmap) {
            if (leaf.pa.value() != leaf.va.value() - plan.physmap_offset)
                problems.add("physmap leaf " + hex(leaf.va.value()) + " -> " + hex(leaf.pa.value()));
            if (!in_ram({leaf.pa, leaf.pa + leaf.size})) problems.add("physmap maps non-RAM " + hex(leaf.pa.value()));
            if (!same_permissions(leaf.pte.flags(), kmem::PageFlags::read_write()))
                problems.add("physmap leaf " + hex(leaf.va.value()) + " is " + text_of(leaf.pte.flags()));
        } else {
            const std::uint64_t expected_pa = owner->physical.value() + (leaf.va.value() - owner->range.begin().value());
            if (leaf.pa.value() != expected_pa)
                problems.add(std::string(owner->label) + " leaf " + hex(leaf.va.value()) + " -> " + hex(leaf.pa.value()) +
                             ", planned " + hex(expected_pa));
            if (!same_permissions(leaf.pte.flags(), owner->flags))
                problems.add(std::string(owner->label) + " leaf " + hex(leaf.va.value()) + " flags " +
                             text_of(leaf.pte.flags()) + " != planned " + text_of(owner->flags));
        }
    }
    std::uint64_t area_bytes = 0;
    for (const auto& area : plan.areas) {
        if (!area.mapped) {
            for (std::uint64_t va = area.range.begin().value(); va < area.range.end().value(); va += k4K)
                if (loader_api::host::find_leaf(leaves, VirtualAddress(va)) != nullptr)
                    problems.add("guard page " + hex(va) + " is mapped");
            continue;
        }
        if (area.kind == loader_api::AreaKind::Physmap) {
            for (const auto& r : ram) area_bytes += r.size();
        } else {
            area_bytes += area.range.size();
        }
    }
    // RAM regions may abut: count physmap bytes from the merged RAM instead.
    if (mapped_by_leaves != area_bytes)
        problems.add("leaves map " + hex(mapped_by_leaves) + " bytes, areas need " + hex(area_bytes));

    // 5. The kernel: permissions per page from the ELF, contents from the
    //    file plus relocations, entry executable.
    auto elf = loader_api::ElfFile::parse(input.kernel);
    if (!elf) {
        problems.add("kernel does not parse");
        return problems;
    }
    const std::uint64_t slide = plan.kaslr_slide;
    const ExpectedImage image = expected_image(*elf, slide);
    const bool allow_wx = plan.config.allow_write_execute != 0;
    for (const auto& [page, expected] : image.pages) {
        if (expected.in_segment.none()) continue;
        const auto* leaf = loader_api::host::find_leaf(leaves, VirtualAddress(page + slide));
        if (leaf == nullptr) {
            problems.add("kernel page " + hex(page + slide) + " unmapped");
            continue;
        }
        bool shared = false;
        const kmem::PageFlags want = expected_flags(*elf, page, shared);
        if (!same_permissions(leaf->pte.flags(), want))
            problems.add("kernel page " + hex(page + slide) + " is " + text_of(leaf->pte.flags()) + ", segment wants " +
                         text_of(want));
        if (leaf->pte.writable() && leaf->pte.executable() && !allow_wx)
            problems.add("kernel page " + hex(page + slide) + " is W+X");
        const PhysicalAddress pa = leaf->pa + ((page + slide) - leaf->va.value());
        const auto bytes = memory.load(pa, k4K);
        for (std::uint64_t k = 0; k < k4K; ++k) {
            if (!expected.in_segment[k]) continue;
            if (std::to_integer<std::uint8_t>(bytes[k]) != expected.bytes[k]) {
                problems.add("kernel byte at " + hex(page + slide + k) + " is " +
                             hex(std::to_integer<std::uint8_t>(bytes[k])) + ", expected " + hex(expected.bytes[k]));
                break;
            }
        }
    }
    if (plan.entry.value() != elf->entry().value() + slide) problems.add("entry " + hex(plan.entry.value()));
    const auto* entry_leaf = loader_api::host::find_leaf(leaves, plan.entry);
    if (entry_leaf == nullptr || !entry_leaf->pte.executable()) problems.add("entry not executable");

    // 6. Harts: stacks mapped RW onto their frames with a hole below, TLS
    //    blocks holding the relocated template, tp aligned.
    const auto tls = elf->tls();
    for (const auto& hart : plan.harts) {
        if (hart.state != loader_api::HartState::Started) continue;
        if (hart.sp != hart.stack.end() || hart.sp.value() % 16 != 0) problems.add("hart sp " + hex(hart.sp.value()));
        if (loader_api::host::find_leaf(leaves, hart.stack.begin() - k4K) != nullptr)
            problems.add("hart " + std::to_string(hart.hart_id) + ": guard page mapped");
        for (std::uint64_t va = hart.stack.begin().value(); va < hart.stack.end().value(); va += k4K) {
            const auto* leaf = loader_api::host::find_leaf(leaves, VirtualAddress(va));
            if (leaf == nullptr || leaf->pa + (va - leaf->va.value()) != hart.stack_frames.begin() + (va - hart.stack.begin().value()) ||
                !leaf->pte.writable()) {
                problems.add("hart " + std::to_string(hart.hart_id) + ": stack page " + hex(va) + " wrong");
                break;
            }
        }
        if (!tls.present || tls.memsz == 0) {
            if (hart.tp.value() != 0) problems.add("tp without PT_TLS");
            continue;
        }
        if (hart.tp.value() % tls.align != 0) problems.add("tp misaligned " + hex(hart.tp.value()));
        if (hart.tp.value() != hart.tls_frames.begin().value() + plan.physmap_offset) problems.add("tp not the physmap address of its block");
        const auto block = memory.load(hart.tls_frames.begin(), tls.memsz);
        for (std::uint64_t k = 0; k < tls.memsz; ++k) {
            const std::uint8_t want = k < tls.init_image.size() ? image.byte(tls.vaddr.value() + k) : 0;
            if (std::to_integer<std::uint8_t>(block[k]) != want) {
                problems.add("hart " + std::to_string(hart.hart_id) + ": TLS byte " + std::to_string(k) + " wrong");
                break;
            }
        }
    }
    // BootInfo reached through the physmap.
    const auto* boot_leaf = loader_api::host::find_leaf(leaves, plan.boot_info_virtual);
    if (boot_leaf == nullptr || boot_leaf->pa + (plan.boot_info_virtual.value() - boot_leaf->va.value()) != plan.boot_info_physical)
        problems.add("BootInfo not reachable through the physmap");

    // What the kernel will see: the test kernel's audit of its own address
    // space, on BootInfo (equal to the block in memory, see 1.) and the tables
    // as the planner left them. The ELF comparison above stands in for the
    // audit's link-time groups, which only the test kernel knows.
    const loader_api::AuditKernelImage link_groups{.whole = info.kernel_virtual, .text = {}, .rodata = {}, .data = {}};
    const auto adopted = loader_api::host::with_plan_table(plan, memory, [&](const auto& table) {
        const auto audit = loader_api::audit_address_space(info, table, link_groups);
        if (!audit) problems.add("the kernel's audit: " + text_of(audit.error()));
    });
    if (!adopted) problems.add("page tables: " + text_of(adopted.error()));
    return problems;
}

}  // namespace plan_test
