// The test kernel: checks on every hart that the loader kept every promise of
// docs/protocol.md, prints `PASS` as its last line or
// `FAIL: <check>: <details>`, and stops the machine with exit status 0 or the
// check's code (below), the way the loader does.
//
// Build-time knobs (meson variants): TEST_KERNEL_PAGING_MODE (8/9/10: force
// Sv39/48/57 through the config and check that it was used),
// TEST_KERNEL_KASLR (1 on, 2 off: checked against kaslr_slide) and
// TEST_KERNEL_LONG_CONFIG (1: a .loader_config 8 bytes longer than 1.1's).

#include <cstddef>
#include <cstdint>
#include <new>
#include <span>
#include <string_view>

#include "kernels/common/console.hpp"
#include "kernels/common/live_tables.hpp"
#include "kernels/common/platform.hpp"
#include "kmem/fnv1a.hpp"
#include "kmem/format.hpp"
#include "loader_api/audit.hpp"
#include "loader_api/fdt.hpp"
#include "loader_api/loader_config.hpp"
#include "loader_api/validate.hpp"
#include "reference_loader/loader_stats.h"

#ifndef TEST_KERNEL_PAGING_MODE
#define TEST_KERNEL_PAGING_MODE 0
#endif
#ifndef TEST_KERNEL_KASLR
#define TEST_KERNEL_KASLR 0
#endif
#ifndef TEST_KERNEL_LONG_CONFIG
#define TEST_KERNEL_LONG_CONFIG 0
#endif

namespace {

using loader_api::BootInfo;
using loader_api::HartInfo;
using loader_api::HartState;

// The registers as _start found them (entry.S stores them before any C++).
struct EntryRegisters {
    std::uint64_t a0, a1, sp, tp, gp, ra, satp, sstatus, sie, stvec, sepc, scause, stval;
    std::uint64_t padding;  // keeps the frame below it 16-byte aligned
};
static_assert(offsetof(EntryRegisters, a0) == 0 && offsetof(EntryRegisters, sp) == 16 &&
              offsetof(EntryRegisters, satp) == 48 && offsetof(EntryRegisters, stvec) == 72 &&
              offsetof(EntryRegisters, sepc) == 80 && offsetof(EntryRegisters, scause) == 88 &&
              offsetof(EntryRegisters, stval) == 96 && sizeof(EntryRegisters) == 112);

// QEMU exit status of each failed check (the loader uses 1, a trap 0x7f).
enum class Check : std::uint32_t { Registers = 2, Validate = 3, PageTables = 4, Tls = 5, Harts = 6, Config = 7 };

constexpr std::string_view name(Check check) {
    switch (check) {
        case Check::Registers: return "registers";
        case Check::Validate: return "validate";
        case Check::PageTables: return "page tables";
        case Check::Tls: return "tls";
        case Check::Harts: return "harts";
        case Check::Config: return "config";
    }
    return "?";
}

// "FAIL: <check>: hart N: <body>", then the machine stops with the check's code.
template <class Body>
[[noreturn]] void fail(Check check, std::uint64_t hart_id, Body&& body) {
    kernel::println([&](kernel::ConsoleLine& out) {
        kmem::print(out, "FAIL: ", name(check), ": hart ", hart_id, ": ");
        body(out);
    });
    kernel::shutdown(static_cast<std::uint32_t>(check));
}

// "<what> is <actual>, expected <expected>"
[[noreturn]] void fail_value(Check check, std::uint64_t hart_id, std::string_view what, std::uint64_t actual,
                             std::uint64_t expected) {
    fail(check, hart_id, [&](kernel::ConsoleLine& out) {
        kmem::print(out, what, " is ", kmem::hex(actual), ", expected ", kmem::hex(expected));
    });
}

// --- TLS: known initial values in .tdata, zeros in .tbss.
thread_local std::uint64_t tls_pattern = 0x0123'4567'89ab'cdef;
thread_local std::uint32_t tls_words[3] = {0xdead'0001, 0xbeef'0002, 0xcafe'0003};
thread_local std::uint8_t tls_byte = 0x5a;
thread_local std::uint64_t tls_zeros[32];
thread_local std::uint64_t tls_owner;  // this hart's id + 1, written after the checks

// Cross-hart counters (32-bit: no inline sub-word atomics in GCC 12).
std::uint32_t arrived = 0;   // harts whose own checks passed and tls_owner is written
std::uint32_t finished = 0;  // harts that also checked the other harts' TLS

// Link-time layout (kernel.ld), reached PC-relative: run-time addresses.
extern "C" {
[[gnu::visibility("hidden")]] void _start();  // entry.S
[[gnu::visibility("hidden")]] extern const char __kernel_start[], __kernel_end[];
[[gnu::visibility("hidden")]] extern const char __kernel_text_start[], __kernel_text_end[];
[[gnu::visibility("hidden")]] extern const char __kernel_rodata_start[], __kernel_rodata_end[];
[[gnu::visibility("hidden")]] extern const char __kernel_data_start[], __kernel_data_end[];
}
loader_api::VirtRange range_of(const char* begin, const char* end) {
    return {reinterpret_cast<std::uint64_t>(begin), reinterpret_cast<std::uint64_t>(end)};
}

std::uint64_t read_tp() {
    std::uint64_t tp;
    asm volatile("mv %0, tp" : "=r"(tp));
    return tp;
}

std::uint32_t started_harts(const BootInfo& info) {
    std::uint32_t count = 0;
    for (const HartInfo& hart : info.hart_table())
        if (hart.state == HartState::Started) ++count;
    return count;
}

// Waits until *counter reaches `target`, at most 10 s of timebase.
bool wait_for(const std::uint32_t* counter, std::uint32_t target, const BootInfo& info) {
    const std::uint64_t deadline = kernel::read_time() + 10 * info.timebase_frequency;
    while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) < target)
        if (kernel::read_time() > deadline) return false;
    return true;
}

// --- The checks, in the order they run.

// sstatus bits the protocol fixes at entry.
constexpr std::uint64_t kSie = 1u << 1, kSpie = 1u << 5, kSpp = 1u << 8, kSum = 1u << 18, kMxr = 1u << 19;
constexpr std::uint64_t kInstructionPageFault = 12;
constexpr unsigned kFsShift = 13, kVsShift = 9;

void check_registers(const EntryRegisters& regs, const BootInfo& info) {
    const std::uint64_t hart_id = regs.a0;
    const auto check = [&](std::string_view what, std::uint64_t actual, std::uint64_t expected) {
        if (actual != expected) fail_value(Check::Registers, hart_id, what, actual, expected);
    };
    check("a1 (BootInfo)", regs.a1, reinterpret_cast<std::uint64_t>(&info));
    check("a1 alignment", regs.a1 & 7, 0);
    const HartInfo* hart = info.find_hart(hart_id);
    if (hart == nullptr) fail_value(Check::Registers, hart_id, "a0 (hart id) not in the hart table; hart count", info.harts.count, 0);
    check("hart state", static_cast<std::uint32_t>(hart->state), static_cast<std::uint32_t>(HartState::Started));
    check("sp", regs.sp, hart->stack.end);
    check("sp alignment", regs.sp & 15, 0);
    check("tp", regs.tp, hart->tls.begin);
    check("gp", regs.gp, 0);
    check("ra", regs.ra, 0);
    check("satp", regs.satp,
          (std::uint64_t{static_cast<std::uint32_t>(info.paging_mode)} << 60) | (info.root_table >> 12));
    check("sie", regs.sie, 0);
    check("sstatus.SIE", regs.sstatus & kSie, 0);
    check("sstatus.SPIE", regs.sstatus & kSpie, 0);
    check("sstatus.SUM", regs.sstatus & kSum, 0);
    check("sstatus.MXR", regs.sstatus & kMxr, 0);
    check("sstatus.FS", (regs.sstatus >> kFsShift) & 3, 1);
    check("sstatus.VS", (regs.sstatus >> kVsShift) & 3, 0);
    check("stvec (the entry)", regs.stvec, reinterpret_cast<std::uint64_t>(&_start));
    // The entry trap (docs/protocol.md, section 2): the fetch after the
    // loader's satp write faulted at a loader address that the kernel's
    // tables do not map, from S-mode.
    check("scause", regs.scause, kInstructionPageFault);
    check("sstatus.SPP", regs.sstatus & kSpp, kSpp);
    bool in_loader = false;
    for (const loader_api::MemoryRegion& region : info.regions())
        in_loader = in_loader || (region.kind == loader_api::MemoryRegionKind::LoaderReclaimable &&
                                  region.range.begin <= regs.sepc && regs.sepc < region.range.end);
    if (!in_loader) fail_value(Check::Registers, hart_id, "sepc (not in a LoaderReclaimable region)", regs.sepc, 0);
    if (regs.stval != 0 && regs.stval != regs.sepc) check("stval (0 or sepc)", regs.stval, regs.sepc);
}

void check_validate(std::uint64_t hart_id, const BootInfo& info) {
    // The block is readable up to the end of the physmap; validate() checks
    // that total_size stays inside that, and everything else.
    const auto address = reinterpret_cast<std::uint64_t>(&info);
    const std::uint64_t available = address < info.physmap.end ? info.physmap.end - address : 0;
    if (auto valid = loader_api::validate(info, available); !valid)
        fail(Check::Validate, hart_id, [&](kernel::ConsoleLine& out) { valid.error().format(out); });
}

void check_config(std::uint64_t hart_id, const BootInfo& info) {
    if (TEST_KERNEL_PAGING_MODE != 0 && static_cast<std::uint32_t>(info.paging_mode) != TEST_KERNEL_PAGING_MODE)
        fail_value(Check::Config, hart_id, "paging mode (forced by the config)", static_cast<std::uint32_t>(info.paging_mode),
                   TEST_KERNEL_PAGING_MODE);
    if (TEST_KERNEL_KASLR == 1 && info.kaslr_slide == 0)
        fail_value(Check::Config, hart_id, "kaslr_slide with KASLR enabled", info.kaslr_slide, 1);
#if !defined(__pie__)
    // A PIE (linked at 0) must move into the higher half whatever KASLR
    // says; the boot test checks that two boots place it alike instead.
    if (TEST_KERNEL_KASLR == 2 && info.kaslr_slide != 0)
        fail_value(Check::Config, hart_id, "kaslr_slide with KASLR disabled", info.kaslr_slide, 0);
#endif
    // The image the linker laid out lies inside what BootInfo says the kernel occupies.
    const loader_api::VirtRange image = range_of(__kernel_start, __kernel_end);
    if (image.begin < info.kernel_virtual.begin || image.end > info.kernel_virtual.end)
        fail_value(Check::Config, hart_id, "kernel image start (outside kernel_virtual)", image.begin, info.kernel_virtual.begin);
}

// The device tree as the kernel reads it: static (a MachineInfo is about
// 110 KiB) and built at run time, so that it costs .bss, not image bytes.
union MachineStorage {
    constexpr MachineStorage() : unused(0) {}
    char unused;
    loader_api::fdt::MachineInfo machine;
};
MachineStorage machine_storage;

loader_api::MemoryRegionKind kind_at(const BootInfo& info, std::uint64_t page, bool& in_ram) {
    for (const loader_api::MemoryRegion& region : info.regions()) {
        if (region.range.begin <= page && page < region.range.end) {
            in_ram = true;
            return region.kind;
        }
    }
    in_ram = false;
    return loader_api::MemoryRegionKind::Reserved;
}

// Memory the firmware reserves (/memreserve/, /reserved-memory with reg,
// OpenSBI's own regions among them) is Reserved in the memory map, except
// pages that hold the device tree, the initrd or the kernel's segments; a
// /memreserve/ of exactly the initrd's range names the initrd (U-Boot adds
// one), docs/protocol.md, MemoryRegion.
void check_reserved_memory(std::uint64_t hart_id, const BootInfo& info) {
    namespace fdt = loader_api::fdt;
    fdt::MachineInfo& machine = *new (&machine_storage.machine) fdt::MachineInfo;
    const auto* tree = reinterpret_cast<const std::uint8_t*>(info.device_tree.begin + info.physmap_offset);
    if (auto read = fdt::read_machine_info(fdt::Bytes(tree, info.device_tree.size()), machine); !read)
        fail(Check::Validate, hart_id, [&](kernel::ConsoleLine& out) {
            kmem::print(out, "device tree from BootInfo: ", read.error());
        });
    using Kind = loader_api::MemoryRegionKind;
    for (const fdt::ReservedRange& reserved : machine.reserved) {
        const bool memreserve = reserved.source == fdt::ReservationSource::kMemReserve;
        const std::string_view name = memreserve ? std::string_view("/memreserve/") : reserved.node;
        // For the boot tests: which ranges were checked.
        kernel::println([&](kernel::ConsoleLine& out) {
            kmem::print(out, "reserved: ", name, " [", kmem::hex(reserved.range.begin().value()), ", ",
                        kmem::hex(reserved.range.end().value()), ")");
        });
        if (memreserve && machine.chosen.has_initrd && reserved.range == machine.chosen.initrd) continue;
        const std::uint64_t end = reserved.range.end().value();
        for (std::uint64_t page = reserved.range.begin().value() & ~std::uint64_t{4095}; page < end; page += 4096) {
            bool in_ram = false;
            const Kind kind = kind_at(info, page, in_ram);
            if (!in_ram || kind == Kind::Reserved || kind == Kind::Fdt || kind == Kind::Initrd || kind == Kind::Kernel)
                continue;
            fail(Check::Validate, hart_id, [&](kernel::ConsoleLine& out) {
                kmem::print(out, "reserved memory ", name, " page ", kmem::hex(page), " is in a region of kind ",
                            static_cast<std::uint32_t>(kind), ", not Reserved");
            });
        }
    }
}

// The 1.1 fields. Under UEFI: the system table is where its signature says,
// and every runtime-services page of the firmware's map is EfiRuntimeCode or
// EfiRuntimeData, every other page the OS may not use is not Usable
// (docs/protocol.md, BootInfo and MemoryRegion). Otherwise the EFI fields are
// empty. No entropy source: no KASLR either.
void check_v1_1(std::uint64_t hart_id, const BootInfo& info) {
    using Kind = loader_api::MemoryRegionKind;
    const auto check = [&](std::string_view what, std::uint64_t actual, std::uint64_t expected) {
        if (actual != expected) fail_value(Check::Validate, hart_id, what, actual, expected);
    };
    check("version_minor", info.header.version_minor, loader_api::kBootInfoVersionMinor);
#if !defined(__pie__)
    // A PIE moves whatever KASLR says (it is linked at 0); a fixed kernel only with entropy.
    if (info.entropy_sources == 0) check("kaslr_slide without entropy", info.kaslr_slide, 0);
#endif
    const auto map = info.efi_memory_map_bytes();
    if (info.efi_system_table == 0) {
        check("efi_memory_map bytes without a system table", map.size(), 0);
        check("efi_memory_descriptor_size without a system table", info.efi_memory_descriptor_size, 0);
        return;
    }
    constexpr std::uint64_t kSystemTableSignature = 0x5453595320494249;  // "IBI SYST"
    const auto* system_table = reinterpret_cast<const std::uint64_t*>(info.efi_system_table + info.physmap_offset);
    check("EFI system table signature", *system_table, kSystemTableSignature);
    check("efi_memory_descriptor_version", info.efi_memory_descriptor_version, 1);
    const std::size_t stride = info.efi_memory_descriptor_size;
    std::uint64_t runtime_bytes[2] = {};
    for (std::size_t offset = 0; offset + stride <= map.size(); offset += stride) {
        struct {
            std::uint32_t type, pad;
            std::uint64_t physical_start, virtual_start, number_of_pages, attribute;
        } descriptor;
        __builtin_memcpy(&descriptor, map.data() + offset, sizeof(descriptor));
        constexpr std::uint32_t kRuntimeCode = 5, kRuntimeData = 6;
        // Loader, boot services and conventional memory (1, 2, 3, 4, 7) are the OS's.
        const bool os_memory = descriptor.type <= 4 || descriptor.type == 7;
        if (os_memory) continue;
        const bool runtime = descriptor.type == kRuntimeCode || descriptor.type == kRuntimeData;
        const Kind want = descriptor.type == kRuntimeCode ? Kind::EfiRuntimeCode : Kind::EfiRuntimeData;
        for (std::uint64_t n = 0; n < descriptor.number_of_pages; ++n) {
            const std::uint64_t page = descriptor.physical_start + n * 4096;
            bool in_ram = false;
            const Kind kind = kind_at(info, page, in_ram);
            if (!in_ram || kind == Kind::Kernel || kind == Kind::Fdt || kind == Kind::Initrd) continue;
            if (runtime) runtime_bytes[descriptor.type - kRuntimeCode] += 4096;
            if (runtime ? kind == want : kind != Kind::Usable) continue;
            fail(Check::Validate, hart_id, [&](kernel::ConsoleLine& out) {
                kmem::print(out, "EFI memory type ", descriptor.type, " page ", kmem::hex(page),
                            " is in a region of kind ", loader_api::to_string(kind));
            });
        }
    }
    if (hart_id != info.boot_hart_id) return;
    kernel::println([&](kernel::ConsoleLine& out) {
        kmem::print(out, "efi: system table ", kmem::hex(info.efi_system_table), " signature ok, ",
                    map.size() / stride, " descriptors, runtime code ", kmem::size(runtime_bytes[0]),
                    ", runtime data ", kmem::size(runtime_bytes[1]));
    });
}

// A kernel that came as the initrd (a loader without a kernel of its own):
// the initrd is the kernel file, so BootInfo names no initrd, kernel_file is
// exactly the /chosen initrd range, and its pages are LoaderReclaimable or,
// where segments are mapped in place, Kernel (docs/protocol.md, BootInfo).
void check_kernel_from_initrd(std::uint64_t hart_id, const BootInfo& info) {
    const loader_api::fdt::Chosen& chosen = machine_storage.machine.chosen;
    if (!chosen.has_initrd || chosen.initrd.empty() || chosen.initrd.begin().value() >= info.kernel_file.end ||
        info.kernel_file.begin >= chosen.initrd.end().value())
        return;
    kernel::println([&](kernel::ConsoleLine& out) {
        kmem::print(out, "kernel file: the initrd [", kmem::hex(info.kernel_file.begin), ", ",
                    kmem::hex(info.kernel_file.end), ")");
    });
    if (!info.initrd.empty()) fail_value(Check::Validate, hart_id, "initrd.begin (the initrd is the kernel file)", info.initrd.begin, 0);
    if (info.kernel_file.begin != chosen.initrd.begin().value() || info.kernel_file.end != chosen.initrd.end().value())
        fail_value(Check::Validate, hart_id, "kernel_file.end (not the /chosen initrd)", info.kernel_file.end,
                   chosen.initrd.end().value());
    using Kind = loader_api::MemoryRegionKind;
    for (std::uint64_t page = info.kernel_file.begin & ~std::uint64_t{4095}; page < info.kernel_file.end; page += 4096) {
        bool in_ram = false;
        const Kind kind = kind_at(info, page, in_ram);
        if (kind != Kind::LoaderReclaimable && kind != Kind::Kernel)
            fail_value(Check::Validate, hart_id, "kind of a kernel-file page (page in the line above)",
                       static_cast<std::uint32_t>(kind), static_cast<std::uint32_t>(Kind::LoaderReclaimable));
    }
}

// Every hart the tree lists is in the table; the ones the kernel cannot use
// (1.1: Unusable) have no SBI error, no stack and no TLS. This loader marks
// a hart Failed only after planning, so a Failed one keeps the stack and TLS
// it was given for a later start (protocol section 3). The line, with each
// Failed hart's error, lets the boot tests compare the table with the machine.
void check_hart_table(std::uint64_t hart_id, const BootInfo& info) {
    for (const HartInfo& hart : info.hart_table()) {
        if (hart.state == HartState::Unusable && (hart.sbi_error != 0 || !hart.stack.empty() || !hart.tls.empty()))
            fail_value(Check::Harts, hart_id, "an Unusable hart with an SBI error, stack or TLS; its id", hart.hart_id, 0);
        if (hart.state == HartState::Failed && (hart.stack.empty() || (info.tls_template.memory_size != 0 && hart.tls.empty())))
            fail_value(Check::Harts, hart_id, "a Failed hart without the stack or TLS it was planned; its id", hart.hart_id, 0);
    }
    kernel::println([&](kernel::ConsoleLine& out) {
        kmem::print(out, "hart table:");
        bool first = true;
        for (const HartInfo& hart : info.hart_table()) {
            kmem::print(out, first ? " " : ", ");
            first = false;
            kmem::print(out, hart.hart_id);
            out.put(' ');
            kmem::print(out, loader_api::to_string(hart.state));
            if (hart.state == HartState::Failed) {
                kmem::print(out, " (sbi_error ", hart.sbi_error);
                out.put(')');
            }
        }
    });
}

std::uint64_t check_page_tables(std::uint64_t hart_id, const BootInfo& info) {
    const loader_api::AuditKernelImage image{
        .whole = range_of(__kernel_start, __kernel_end),
        .text = range_of(__kernel_text_start, __kernel_text_end),
        .rodata = range_of(__kernel_rodata_start, __kernel_rodata_end),
        .data = range_of(__kernel_data_start, __kernel_data_end),
    };
    std::uint64_t leaves = 0;
    // Reading only: the pool stays unused (nothing is mapped here).
    auto adopted = kernel::with_live_table(info, {}, [&](const auto& table) {
        auto audit = loader_api::audit_address_space(info, table, image);
        if (!audit) fail(Check::PageTables, hart_id, [&](kernel::ConsoleLine& out) { audit.error().format(out); });
        leaves = audit->leaves;
    });
    if (!adopted) fail(Check::PageTables, hart_id, [&](kernel::ConsoleLine& out) { adopted.error().format(out); });
    return leaves;
}

// Before this hart writes any TLS variable: the block is the template.
void check_tls(std::uint64_t hart_id, const BootInfo& info) {
    const loader_api::TlsTemplate& tls = info.tls_template;
    const std::uint64_t tp = read_tp();
    const auto check = [&](std::string_view what, std::uint64_t actual, std::uint64_t expected) {
        if (actual != expected) fail_value(Check::Tls, hart_id, what, actual, expected);
    };
    check("tls_pattern (.tdata)", tls_pattern, 0x0123'4567'89ab'cdef);
    check("tls_words[0] (.tdata)", tls_words[0], 0xdead'0001);
    check("tls_words[1] (.tdata)", tls_words[1], 0xbeef'0002);
    check("tls_words[2] (.tdata)", tls_words[2], 0xcafe'0003);
    check("tls_byte (.tdata)", tls_byte, 0x5a);
    for (std::uint64_t value : tls_zeros) check("tls_zeros[] (.tbss)", value, 0);
    check("tls_owner (.tbss)", tls_owner, 0);
    // The variables are where the protocol says: tp + their offset in PT_TLS.
    const auto address = reinterpret_cast<std::uint64_t>(&tls_owner);
    if (address < tp || address + sizeof tls_owner > tp + tls.memory_size)
        fail_value(Check::Tls, hart_id, "&tls_owner (outside [tp, tp + memory_size))", address, tp);
    check("tp alignment", tls.alignment == 0 ? 0 : tp % tls.alignment, 0);
    // Byte for byte: .tdata from the template, zeros after it.
    const auto* block = reinterpret_cast<const std::uint8_t*>(tp);
    const auto* image = reinterpret_cast<const std::uint8_t*>(tls.start);
    for (std::uint64_t i = 0; i < tls.memory_size; ++i) {
        const std::uint8_t expected = i < tls.file_size ? image[i] : 0;
        if (block[i] != expected) fail_value(Check::Tls, hart_id, "TLS block byte (tp + offset below)", block[i], expected);
    }
}

// After every hart wrote its id into its own tls_owner: each block holds its
// own hart's id, so no two harts share one.
void check_tls_per_hart(std::uint64_t hart_id, const BootInfo& info) {
    const std::uint64_t offset = reinterpret_cast<std::uint64_t>(&tls_owner) - read_tp();
    if (tls_owner != hart_id + 1) fail_value(Check::Tls, hart_id, "own tls_owner", tls_owner, hart_id + 1);
    for (const HartInfo& hart : info.hart_table()) {
        if (hart.state != HartState::Started) continue;
        const auto* owner = reinterpret_cast<const std::uint64_t*>(hart.tls.begin + offset);
        const std::uint64_t value = __atomic_load_n(owner, __ATOMIC_RELAXED);
        if (value != hart.hart_id + 1)
            fail(Check::Tls, hart_id, [&](kernel::ConsoleLine& out) {
                kmem::print(out, "hart ", hart.hart_id, "'s tls_owner reads ", kmem::hex(value),
                            ", expected its id + 1: TLS blocks shared or not where BootInfo says");
            });
    }
}

// What the boot tests compare with what they passed to QEMU.
void print_facts(const BootInfo& info) {
    kernel::println([&](kernel::ConsoleLine& out) {
        kmem::print(out, "kernel: ", loader_api::to_string(info.paging_mode), " virtual [",
                    kmem::hex(info.kernel_virtual.begin), ", ", kmem::hex(info.kernel_virtual.end), ") slide ",
                    kmem::hex(info.kaslr_slide), " physmap offset ", kmem::hex(info.physmap_offset));
    });
    // For the EFI boot tests: what the firmware kept must be in these.
    using Kind = loader_api::MemoryRegionKind;
    for (const loader_api::MemoryRegion& region : info.regions()) {
        if (region.kind != Kind::Reserved && region.kind != Kind::EfiRuntimeCode && region.kind != Kind::EfiRuntimeData &&
            region.kind != Kind::UsableUnmapped)
            continue;
        kernel::println([&](kernel::ConsoleLine& out) {
            kmem::print(out, "region ", loader_api::to_string(region.kind), " [", kmem::hex(region.range.begin), ", ",
                        kmem::hex(region.range.end), ")");
        });
    }
    kernel::println([&](kernel::ConsoleLine& out) {
        kmem::print(out, "entropy sources: ", kmem::hex(info.entropy_sources));
    });
    kernel::println([&](kernel::ConsoleLine& out) {
        kmem::print(out, "cmdline: \"", info.cmdline());
        out.put('"');
    });
    // FNV-1a over the initrd bytes, read through the physmap.
    std::uint64_t hash = kmem::kFnv1aBasis;
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(info.initrd.begin + info.physmap_offset);
    for (std::uint64_t i = 0; i < info.initrd.size(); ++i) hash = kmem::fnv1a(hash, bytes[i]);
    kernel::println([&](kernel::ConsoleLine& out) {
        kmem::print(out, "initrd: ", info.initrd.size(), " bytes fnv1a64 ", kmem::hex(hash, 16));
    });
}

// The reference loader's statistics record (loader_stats.h), for
// bench/run.py: in the first page of the loader's image, which lies in the
// LoaderReclaimable region holding the entry fault's sepc, at or below it.
// Not protocol: null for another loader, or a record of an earlier boot.
const loader_stats* find_loader_stats(const BootInfo& info, std::uint64_t sepc) {
    constexpr std::uint64_t kPage = 4096;
    constexpr char kImageMagic[8] = {'R', 'I', 'S', 'C', 'V', 0, 0, 0};
    for (const loader_api::MemoryRegion& region : info.regions()) {
        if (region.kind != loader_api::MemoryRegionKind::LoaderReclaimable || sepc < region.range.begin ||
            sepc >= region.range.end)
            continue;
        for (std::uint64_t page = sepc & ~(kPage - 1); page >= region.range.begin; page -= kPage) {
            const auto* bytes = reinterpret_cast<const char*>(page + info.physmap_offset);
            if (std::string_view(bytes + 0x30, 8) != std::string_view(kImageMagic, 8)) continue;
            const auto* stats = reinterpret_cast<const loader_stats*>(bytes + LOADER_STATS_OFFSET);
            if (stats->magic == LOADER_STATS_MAGIC && stats->entry_instret == info.timestamps.loader_entry_instret)
                return stats;
        }
    }
    return nullptr;
}

void print_loader_stats(const BootInfo& info, std::uint64_t sepc) {
    const loader_stats* stats = find_loader_stats(info, sepc);
    kernel::println([&](kernel::ConsoleLine& out) {
        if (stats == nullptr) {
            kmem::print(out, "bench: loader phases: no statistics record");
            return;
        }
        static constexpr std::string_view kNames[LOADER_PHASE_COUNT] = {"door", "setup", "plan", "harts", "handoff"};
        kmem::print(out, "bench: loader phases");
        for (unsigned phase = 0; phase < LOADER_PHASE_COUNT; ++phase) {
            kmem::print(out, phase == 0 ? " " : ", ", kNames[phase]);
            out.put(' ');
            kmem::print(out, stats->phase[phase]);
        }
        kmem::print(out, "; console ", stats->console, " in ", stats->console_chars, " chars, firmware ",
                    stats->firmware);
    });
    if (stats == nullptr) return;
    // Literals in the code, not a table of names: a table would add
    // relocations to the kernel the figures measure the loading of.
    static_assert(LOADER_PLAN_STEP_COUNT == 6);
    const std::uint64_t* step = stats->plan_step;
    kernel::println([&](kernel::ConsoleLine& out) {
        kmem::print(out, "bench: plan steps inputs ", step[0], ", layout ", step[1], ", kernel ", step[2], ", stacks ",
                    step[3], ", page tables ", step[4], ", boot info ", step[5]);
    });
}

}  // namespace

extern "C" [[noreturn]] void test_kernel_enter(std::uint64_t hart_id, const BootInfo* info_pointer,
                                               const EntryRegisters* regs) {
    const BootInfo& info = *info_pointer;
    kernel::init_hart(info);
    check_registers(*regs, info);
    check_validate(hart_id, info);
    check_config(hart_id, info);
    check_v1_1(hart_id, info);
    const std::uint64_t leaves = check_page_tables(hart_id, info);
    check_tls(hart_id, info);
    tls_owner = hart_id + 1;

    const bool boot_hart = hart_id == info.boot_hart_id;
    if (boot_hart) check_reserved_memory(hart_id, info);
    if (boot_hart) check_kernel_from_initrd(hart_id, info);
    if (boot_hart) check_hart_table(hart_id, info);
    if (boot_hart) print_facts(info);
    // For bench/run.py: entry.S keeps the instret of _start's first instruction just above *regs.
    if (boot_hart) kernel::println([&](kernel::ConsoleLine& out) {
        std::uint64_t bytes[3] = {};  // what stays in use besides stacks and TLS: Kernel, PageTables, BootInfo
        // What the loader itself occupied: LoaderReclaimable outside the kernel file's pages.
        const std::uint64_t file_begin = kmem::align_down(info.kernel_file.begin, kmem::kPageSize);
        const std::uint64_t file_end = kmem::align_down(info.kernel_file.end + kmem::kPageSize - 1, kmem::kPageSize);
        std::uint64_t loader = 0;
        for (const loader_api::MemoryRegion& region : info.regions()) {
            if (region.kind == loader_api::MemoryRegionKind::Kernel) bytes[0] += region.range.size();
            if (region.kind == loader_api::MemoryRegionKind::PageTables) bytes[1] += region.range.size();
            if (region.kind == loader_api::MemoryRegionKind::BootInfo) bytes[2] += region.range.size();
            if (region.kind != loader_api::MemoryRegionKind::LoaderReclaimable) continue;
            const std::uint64_t begin = region.range.begin > file_begin ? region.range.begin : file_begin;
            const std::uint64_t end = region.range.end < file_end ? region.range.end : file_end;
            loader += region.range.size() - (begin < end ? end - begin : 0);
        }
        kmem::print(out, "bench: instret kernel entry ",
                    *reinterpret_cast<const std::uint64_t*>(reinterpret_cast<const std::byte*>(regs) + sizeof(EntryRegisters)),
                    ", loader entry ", info.timestamps.loader_entry_instret, ", handoff ",
                    info.timestamps.handoff_instret, "; bytes kernel ", bytes[0], ", page tables ", bytes[1],
                    ", boot info ", bytes[2], ", loader ", loader);
    });
    if (boot_hart) print_loader_stats(info, regs->sepc);
    kernel::println([&](kernel::ConsoleLine& out) {
        kmem::print(out, "hart ", hart_id, ": entry, BootInfo, page tables (", leaves, " leaves), TLS ok");
    });

    const std::uint32_t expected = started_harts(info);
    __atomic_fetch_add(&arrived, 1u, __ATOMIC_RELEASE);
    if (!wait_for(&arrived, expected, info))
        fail_value(Check::Harts, hart_id, "harts arrived within 10 s", __atomic_load_n(&arrived, __ATOMIC_ACQUIRE), expected);
    check_tls_per_hart(hart_id, info);
    __atomic_fetch_add(&finished, 1u, __ATOMIC_RELEASE);
    if (!boot_hart) kernel::park();

    if (!wait_for(&finished, expected, info))
        fail_value(Check::Harts, hart_id, "harts finished within 10 s", __atomic_load_n(&finished, __ATOMIC_ACQUIRE), expected);
    kernel::println("PASS");
    kernel::shutdown(0);
}

constexpr loader_api::LoaderConfig kTestKernelConfig = {
#if TEST_KERNEL_PAGING_MODE != 0
    .min_paging_mode = static_cast<loader_api::PagingMode>(TEST_KERNEL_PAGING_MODE),
    .max_paging_mode = static_cast<loader_api::PagingMode>(TEST_KERNEL_PAGING_MODE),
    .preferred_paging_mode = static_cast<loader_api::PagingMode>(TEST_KERNEL_PAGING_MODE),
#endif
    .kaslr = static_cast<loader_api::Kaslr>(TEST_KERNEL_KASLR),
};

#if TEST_KERNEL_LONG_CONFIG
// A config as a kernel of a later minor version would declare it: 8 bytes
// past the fields this loader knows, all 0 ("as before"), which it must
// accept (protocol section 5). boot-config-longer-nonzero patches one of
// them and expects a refusal.
struct LongerConfig {
    loader_api::LoaderConfig known;
    std::uint64_t later_minor_field;
};
constexpr LongerConfig longer_config() {
    LongerConfig config{kTestKernelConfig, 0};
    config.known.size = sizeof(LongerConfig);
    return config;
}
[[gnu::used, gnu::retain, gnu::section(".loader_config")]] constinit const LongerConfig loader_api_kernel_config =
    longer_config();
#else
// The config alone: this kernel has its own _start (entry.S), which records
// the registers before any compiled code runs.
LOADER_API_CONFIG(kTestKernelConfig);
#endif
