#include "platform.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

#include "console.hpp"
#include "common/sbi.hpp"
#include "common/trap_cause.hpp"
#include "kmem/format.hpp"
#include "live_tables.hpp"
#include "loader_api/fdt.hpp"

extern "C" {
void kernel_trap_vector();  // trap.S
[[noreturn]] void kernel_park_hart();
}

namespace kernel {
namespace {

namespace fdt = loader_api::fdt;

const loader_api::BootInfo* boot_info = nullptr;
std::uint32_t shutdown_claimed = 0;

// Frames for the tables that mapping the exit device may need: one per level
// below the root, Sv57's four at most.
alignas(4096) PageFrame table_pool[4];

// sifive,test ("finisher") commands: QEMU exits with status 0 on pass and
// with bits 31..16 as the status on fail.
constexpr std::uint32_t kFinisherPass = 0x5555;
constexpr std::uint32_t kFinisherFail = 0x3333;

// The first sifive,test0/1 node's first reg address. fdt::MachineInfo has the
// same matcher, but MachineInfo holds a thousand harts: too big for a stack.
class TestDeviceFinder {
public:
    fdt::Result<fdt::Interest> begin_node(const fdt::Cursor&) {
        if (found_) return fdt::Interest::kNone;
        compatible_ = false;
        reg_present_ = false;
        return fdt::Interest::kAll;
    }
    fdt::Result<void> property(const fdt::Cursor&, const fdt::Property& prop) {
        if (prop.is("compatible")) {
            auto list = fdt::as_string_list(prop);
            compatible_ = list && (list->contains("sifive,test0") || list->contains("sifive,test1"));
        } else if (prop.is("reg")) {
            reg_ = prop;
            reg_present_ = true;
        }
        return {};
    }
    fdt::Result<void> end_properties(const fdt::Cursor& cursor) {
        if (found_ || !compatible_ || !reg_present_) return {};
        auto reg = fdt::as_reg(reg_, cursor.parent_cells());
        if (reg && !reg->empty()) {
            found_ = true;
            address_ = (*reg)[0].address;
        }
        return {};
    }
    constexpr fdt::Result<void> end_node(const fdt::Cursor&) { return {}; }
    bool found() const { return found_; }
    std::uint64_t address() const { return address_; }

private:
    bool compatible_ = false, reg_present_ = false, found_ = false;
    fdt::Property reg_{};
    std::uint64_t address_ = 0;
};

// The device tree the loader was given, read through the physmap.
std::uint64_t find_test_device(const loader_api::BootInfo& info) {
    if (info.device_tree.empty()) return 0;
    const fdt::Bytes bytes(reinterpret_cast<const std::uint8_t*>(info.device_tree.begin + info.physmap_offset),
                           info.device_tree.size());
    auto tree = fdt::Fdt::create(bytes);
    if (!tree) return 0;
    TestDeviceFinder finder;
    if (!fdt::walk(*tree, finder) || !finder.found()) return 0;
    return finder.address();
}

// Maps the device's page read-write (Svpbmt IO type is not assumed: PMAs of
// QEMU's MMIO already make it uncached) and returns its virtual address, or 0.
// Where: physmap_offset + physical, the address the physmap would give it,
// unless that is taken or not in the higher half; then just above the physmap.
std::uint64_t map_device(const loader_api::BootInfo& info, std::uint64_t physical) {
    const std::uint64_t page = physical & ~std::uint64_t{0xfff};
    const std::uint64_t candidates[] = {page + info.physmap_offset, (info.physmap.end + 0xfff) & ~std::uint64_t{0xfff}};
    std::uint64_t mapped = 0;
    // Malformed tables (adopt refuses them) leave `mapped` 0: shutdown then
    // falls back to SBI.
    (void)with_live_table(info, table_pool, [&](auto& table) {
        using Mode = typename std::remove_cvref_t<decltype(table)>::mode_type;
        for (std::uint64_t va : candidates) {
            if (va < Mode::kUpperHalfBegin) continue;
            if (table.map(kmem::VirtualAddress(va), kmem::PhysicalAddress(page), kmem::kPageSize,
                          kmem::PageFlags::read_write())) {
                mapped = va;
                return;
            }
        }
    });
    if (mapped == 0) return 0;
    asm volatile("sfence.vma" ::: "memory");
    return mapped + (physical - page);
}

}  // namespace

void init_hart(const loader_api::BootInfo& info) {
    __atomic_store_n(&boot_info, &info, __ATOMIC_RELEASE);
    asm volatile("csrw stvec, %0" ::"r"(&kernel_trap_vector));
}

void park() { kernel_park_hart(); }

void shutdown(std::uint32_t code) {
    if (__atomic_exchange_n(&shutdown_claimed, 1u, __ATOMIC_ACQ_REL) != 0) park();
    if (const loader_api::BootInfo* info = __atomic_load_n(&boot_info, __ATOMIC_ACQUIRE)) {
        if (const std::uint64_t device = find_test_device(*info); device != 0) {
            if (const std::uint64_t va = map_device(*info, device); va != 0) {
                const std::uint32_t status = code > 0xffff ? 0xffff : code;
                *reinterpret_cast<volatile std::uint32_t*>(va) =
                    code == 0 ? kFinisherPass : (status << 16) | kFinisherFail;
            }
        }
    }
    const auto reset = examples::sbi::system_reset(
        examples::sbi::ResetType::kShutdown,
        code == 0 ? examples::sbi::ResetReason::kNone : examples::sbi::ResetReason::kSystemFailure);
    println([&](ConsoleLine& out) {
        kmem::print(out, "could not power off (SBI system_reset: ", examples::sbi::error_name(reset.error),
                    "); parking");
    });
    park();
}

void fail(std::uint32_t code, std::string_view message) {
    println(message);
    shutdown(code);
}

}  // namespace kernel

// Exit status of a trap: distinct from the test kernel's check codes.
inline constexpr std::uint32_t kTrapExitCode = 0x7f;

// trap.S switches to a private stack first (the faulting one may be the
// problem, e.g. a stack overflow into the guard page); only one hart gets here.
extern "C" [[noreturn]] void kernel_trap(std::uint64_t scause, std::uint64_t sepc, std::uint64_t stval,
                                         std::uint64_t ra, std::uint64_t sp) {
    {
        kernel::ConsoleLine out(kernel::ConsoleLine::Forced{});
        kmem::print(out, "FAIL: trap: ", riscv::trap_cause_name(scause), " scause ", kmem::hex(scause), " sepc ",
                    kmem::hex(sepc), " stval ", kmem::hex(stval), " ra ", kmem::hex(ra), " sp ", kmem::hex(sp));
        out.put('\n');
    }
    kernel::shutdown(kTrapExitCode);
}

// The freestanding runtime's (examples/common/freestanding.cpp) way out.
extern "C" [[noreturn]] void freestanding_fail(const char* message) {
    {
        kernel::ConsoleLine out(kernel::ConsoleLine::Forced{});
        kmem::print(out, "FAIL: runtime: ");
        while (*message != '\0') out.put(*message++);
        out.put('\n');
    }
    kernel::shutdown(kTrapExitCode);
}
