// The boot hart's path through the loader, from entry.S to the handoff.

#include <cstddef>
#include <cstdint>
#include <new>

#include "boot.hpp"
#include "cmdline.hpp"
#include "console.hpp"
#include "handoff.hpp"
#include "loader_api/fdt.hpp"
#include "loader_api/plan.hpp"
#include "paging.hpp"
#include "platform.hpp"
#include "../common/sbi.hpp"
#include "zkr.hpp"

#ifndef LOADER_VERSION
#define LOADER_VERSION "unknown"
#endif

namespace loader {
namespace {

namespace fdt = loader_api::fdt;
namespace sbi = examples::sbi;

// The plan is large (about 100 KiB besides its lists that grow with the
// harts), so static rather than on the boot stack, and constructed at run
// time: its default value is not all zeros, which would otherwise put it
// into .data and into the image. The device tree is read once, into
// plan.machine, which the planner reuses.
union PlanStorage {
    constexpr PlanStorage() : unused(0) {}
    char unused;
    loader_api::BasicPlan plan;
};
LOADER_NOCLEAR PlanStorage plan_storage;
loader_api::BasicPlan& plan = plan_storage.plan;
const fdt::BasicMachineInfo& machine = plan.machine;
loader_api::IdentityPhysicalMemory physical_memory;

// The room of the lists that grow with the harts (BasicPlan::use_storage)
// and of the hart slots, sized by the machine: in the image for up to
// kImageRoomHarts, the common boards, at about 0.6 KiB a hart; a device
// tree with more harts gets room for exactly its count right after the
// image (read_many_harts), which the plan then reports as loader memory.
constexpr std::size_t kImageRoomHarts = 16;
constexpr std::size_t room_bytes(std::size_t harts) {
    return harts * sizeof(HartSlot) + loader_api::BasicPlan::storage_bytes(harts);
}
LOADER_NOCLEAR alignas(HartSlot) std::byte image_room[room_bytes(kImageRoomHarts)];
HartSlot* slots = nullptr;  // one per hart of the device tree
std::size_t slot_count = 0;
// The end of the memory the loader occupies: its image's, or the room's after it.
std::uintptr_t loader_memory_end = 0;
std::size_t room_harts = 0;  // harts of the room outside the image, 0 without one
kmem::PhysicalRange room_range{};

void use_room(std::byte* room, std::size_t harts) {
    slots = reinterpret_cast<HartSlot*>(room);
    plan.use_storage(room + harts * sizeof(HartSlot), harts);
}

// More harts than the image has room for: room for the count right after
// the image, whole pages, then the tree read again. The room must not hold
// the tree itself. A door that owns memory (EFI) must grant it, and may
// grant it elsewhere: that room is then a reservation of the machine
// (Reserved in the memory map), since the plan's loader range cannot reach it.
fdt::Result<void> read_many_harts(fdt::Bytes tree, std::uint64_t (*claim_room)(kmem::PhysicalRange)) {
    const fdt::Fdt blob = KMEM_TRY(fdt::Fdt::create(tree));
    const std::size_t harts = KMEM_TRY(fdt::count_cpus_children(blob));
    const std::uint64_t begin = reinterpret_cast<std::uintptr_t>(__loader_end);
    const std::uint64_t size = (room_bytes(harts) + kmem::kPageSize - 1) & ~(kmem::kPageSize - 1);
    const kmem::PhysicalRange room{kmem::PhysicalAddress(begin), kmem::PhysicalAddress(begin + size)};
    const auto tree_begin = reinterpret_cast<std::uintptr_t>(tree.data());
    const kmem::PhysicalRange tree_range{kmem::PhysicalAddress(tree_begin), kmem::PhysicalAddress(tree_begin + tree.size())};
    const std::uint64_t granted = claim_room != nullptr ? claim_room(room) : begin;
    if ((claim_room == nullptr && room.overlaps(tree_range)) || granted == 0) {
        fail_with([&](Console& out) {
            kmem::print(out, "the device tree lists ", harts, " nodes under /cpus; the loader has room for ",
                        kImageRoomHarts, " harts and needs ", room, " right after its image for the rest, ",
                        granted == 0 ? "which the firmware did not grant" : "where the device tree lies");
        });
    }
    use_room(reinterpret_cast<std::byte*>(granted), harts);
    room_harts = harts;
    room_range = {kmem::PhysicalAddress(granted), kmem::PhysicalAddress(granted + size)};
    if (granted == begin) {
        loader_memory_end = begin + size;
        return fdt::read_machine_info(blob, plan.machine);
    }
    KMEM_TRY(fdt::read_machine_info(blob, plan.machine));
    if (!plan.machine.reserved.push({room_range, fdt::ReservationSource::kFirmwareMemoryMap, false, "loader room"}))
        fail("the device tree's reservations leave no place for the loader's room for its harts");
    return {};
}

constexpr std::string_view kCompiler =
#if defined(__clang__)
    "clang " __clang_version__;
#else
    "gcc " __VERSION__;
#endif

}  // namespace

// The device tree's size is in its header; Fdt::create checks the magic
// before it trusts that size.
fdt::BasicMachineInfo& read_machine(std::uint64_t dtb, std::uint64_t (*claim_room)(kmem::PhysicalRange)) {
    new (&plan_storage.plan) loader_api::BasicPlan;
    use_room(image_room, kImageRoomHarts);
    loader_memory_end = reinterpret_cast<std::uintptr_t>(__loader_end);
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(dtb);
    std::uint32_t size = fdt::load_be32(fdt::Bytes(bytes, fdt::kHeaderSize), 4);
    if (size < fdt::kHeaderSize) size = fdt::kHeaderSize;
    auto result = fdt::read_machine_info(fdt::Bytes(bytes, size), plan.machine);
    if (!result && result.error().code == fdt::ErrorCode::kLimitExceeded && result.error().limit == fdt::Limit::kHarts)
        result = read_many_harts(fdt::Bytes(bytes, size), claim_room);
    if (!result) {
        // Exit through the tree's sifive,test device if it is there, so that
        // the failure reaches QEMU's exit status (the board's firmware may
        // not tell a failed shutdown from a clean one).
        if (auto blob = fdt::Fdt::create(fdt::Bytes(bytes, size));
            blob && fdt::read_test_device(*blob, plan.machine) && plan.machine.has_test_device)
            loader_exit_device = plan.machine.test_device.value();
        fail_with([&](Console& out) {
            kmem::print(out, "device tree at ", kmem::hex(dtb), ": ", result.error());
        });
    }
    // From here on a failure exits through the tree's sifive,test device,
    // and the console writes to the UART directly when it can.
    if (plan.machine.has_test_device) loader_exit_device = plan.machine.test_device.value();
    use_stdout_uart(plan.machine.stdout_uart);
    apply_log_level(plan.machine.chosen.bootargs);
    return plan.machine;
}

void apply_log_level(std::string_view bootargs) {
    const CommandLine command_line = parse_command_line(bootargs);
    if (command_line.has_log_level) set_runtime_log_level(command_line.log_level);
}

void set_boot_stack_hart_id(std::uint64_t hart_id) {
    *reinterpret_cast<std::uint64_t*>(reinterpret_cast<std::uintptr_t>(loader_boot_stack_top) + STACK_HART_ID) = hart_id;
}

namespace {

void print_machine(std::uint64_t boot_hart_id, std::size_t usable_harts, std::uint64_t frequency) {
    std::uint64_t ram = 0;
    for (const fdt::MemoryRange& range : machine.memory) ram += range.range.size();
    log<LogLevel::kInfo>([&](Console& out) {
        kmem::print(out, "machine: ", machine.harts.size(), machine.harts.size() == 1 ? " hart (" : " harts (",
                    usable_harts, " can run a kernel), boot hart ", boot_hart_id, ", RAM ", kmem::size(ram), " in ",
                    machine.memory.size(), machine.memory.size() == 1 ? " range, timebase " : " ranges, timebase ",
                    frequency, " Hz");
    });
    log<LogLevel::kInfo>([&](Console& out) {
        const fdt::StdoutUart& uart = machine.stdout_uart;
        kmem::print(out, "console: ");
        if (uart.kind != fdt::UartKind::kNone) {
            kmem::print(out, fdt::describe(uart.kind), " at ", kmem::hex(uart.base.value()), " (/chosen/stdout-path ",
                        uart.node, ")");
            return;
        }
        kmem::print(out, sbi_console_is_dbcn() ? "SBI DBCN" : "SBI legacy putchar");
        if (machine.chosen.stdout_path.empty()) {
            kmem::print(out, " (no /chosen/stdout-path)");
        } else {
            kmem::print(out, " (stdout-path \"", machine.chosen.stdout_path, "\" names no UART the loader drives)");
        }
    });
    log<LogLevel::kDebug>([&](Console& out) {
        kmem::print(out, "exit device (sifive,test): ");
        if (machine.has_test_device)
            kmem::print(out, kmem::hex(machine.test_device.value()));
        else
            kmem::print(out, "none, SBI system reset instead");
    });
}

// The modes the boot hart implements; the planner chooses among them within
// the kernel's LoaderConfig and the loader.paging= cap.
PagingModes probe_modes() {
    build_identity_tables();
    const PagingModes supported = probe_paging_modes();
    if (supported.empty()) fail("paging: the boot hart implements none of Sv39, Sv48, Sv57 (satp kept MODE 0)");
    return supported;
}

// Where the instructions go: each phase's instret span into the statistics
// record (loader_stats.h), which costs one CSR read; printing it would cost
// thousands.
class PhaseClock {
public:
    explicit PhaseClock(std::uint64_t entry_instret) : last_(entry_instret) {
        loader_stats_record.magic = LOADER_STATS_MAGIC;
        loader_stats_record.entry_instret = entry_instret;
    }
    void end(unsigned phase) {
        const std::uint64_t now = read_timestamp().instret;
        loader_stats_record.phase[phase] = now - last_;
        last_ = now;
    }

private:
    std::uint64_t last_;
};

bool planned_to_start(std::uint64_t hart_id) {
    for (const loader_api::HartPlan& hart : plan.harts)
        if (hart.hart_id == hart_id) return hart.state == loader_api::HartState::Started;
    return false;
}

const loader_api::HartPlan& planned_hart(std::uint64_t hart_id) {
    for (const loader_api::HartPlan& hart : plan.harts)
        if (hart.hart_id == hart_id) return hart;
    fail("internal: a started hart is missing from the plan");
}

void record_failed_hart(const HartSlot& slot) {
    auto marked = loader_api::mark_hart_failed(plan, slot.hart_id, slot.start_error, physical_memory);
    if (!marked) fail_with([&](Console& out) { kmem::print(out, marked.error()); });
}

// hart_start, and again when the hart is still on its way back to the
// firmware: a surplus boot hart (entry.S) stops itself with hart_stop, which
// may not have happened yet when its turn comes.
sbi::Result start_hart(HartSlot& slot) {
    constexpr long kAlreadyAvailable = -6;
    const auto start = [&] {
        return sbi::hart_start(slot.hart_id, reinterpret_cast<std::uint64_t>(&loader_secondary_entry),
                               reinterpret_cast<std::uint64_t>(&slot));
    };
    sbi::Result result = start();
    if (result.error != kAlreadyAvailable) return result;
    const std::uint64_t begin = read_timestamp().time;
    const std::uint64_t frequency = plan.boot_info().timebase_frequency;
    while (read_timestamp().time - begin < frequency / 10) {  // 100 ms
        const sbi::Result status = sbi::hart_get_status(slot.hart_id);
        if (status.error == 0 && status.value == static_cast<long>(sbi::HartState::kStopped)) return start();
    }
    return result;
}

// Every other hart the plan gives a kernel stack starts on the trampoline; a
// failure is recorded (slot and BootInfo) and does not stop the boot.
void start_harts(std::size_t boot_index) {
    const bool have_hsm = sbi::probe_extension(sbi::Eid::kHsm);
    for (std::size_t i = 0; i < slot_count; ++i) {
        HartSlot& slot = slots[i];
        if (i == boot_index || !planned_to_start(slot.hart_id)) continue;
        slot.stack_top = planned_hart(slot.hart_id).stack_frames.end().value();
        sbi::Result result{-2, 0};  // SBI_ERR_NOT_SUPPORTED without HSM
        if (have_hsm) {
            // The slot must be complete in memory before the hart can read it.
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            result = start_hart(slot);
        }
        if (result.error == 0) {
            slot.started = true;
            continue;
        }
        slot.start_error = static_cast<std::int32_t>(result.error);
        record_failed_hart(slot);
        log<LogLevel::kWarn>([&](Console& out) {
            kmem::print(out, "hart ", slot.hart_id, ": hart_start failed: ",
                        have_hsm ? sbi::error_name(result.error) : "SBI has no HSM extension", " (", result.error,
                        "); booting without it");
        });
    }
}

// A hart that hart_start accepted can still go back to the firmware instead
// of reaching the trampoline: OpenSBI 1.1 marks it START_PENDING before it
// stores the start address, so a hart that wakes in between leaves for the
// previous address (the loader's _start, whose surplus-hart path hands it
// back with hart_stop). Seen on loaded hosts with QEMU 7.2 MTTCG. Such a hart
// is started again; one that has not arrived after 10 s is not reported to
// the kernel as running. Called as late as possible, so the harts come up
// while the boot hart does its own work.
void wait_for_arrivals(std::uint64_t ticks_per_second) {
    // Generous: on a loaded host a QEMU vCPU thread can wait seconds for a core.
    const std::uint64_t limit = 10 * ticks_per_second;
    const std::uint64_t poll_interval = ticks_per_second / 100;  // 10 ms between status checks
    constexpr unsigned kMaxRestarts = 8;
    const std::uint64_t begin = read_timestamp().time;
    for (std::size_t i = 0; i < slot_count; ++i) {
        HartSlot& slot = slots[i];
        if (!slot.started) continue;
        std::uint64_t next_poll = read_timestamp().time + poll_interval;
        unsigned restarts = 0;
        sbi::Result restart{0, 0};
        for (std::uint64_t now = read_timestamp().time;
             __atomic_load_n(&slot.arrived, __ATOMIC_ACQUIRE) == 0 && now - begin < limit; now = read_timestamp().time) {
            if (now < next_poll || restarts == kMaxRestarts) continue;
            next_poll = now + poll_interval;
            const sbi::Result status = sbi::hart_get_status(slot.hart_id);
            if (status.error != 0 || status.value != static_cast<long>(sbi::HartState::kStopped)) continue;
            ++restarts;
            restart = start_hart(slot);
            log<LogLevel::kInfo>([&](Console& out) {
                kmem::print(out, "hart ", slot.hart_id,
                            ": back in the firmware before reaching the loader (OpenSBI start race); hart_start again: ",
                            sbi::error_name(restart.error));
            });
            if (restart.error != 0) break;
        }
        if (__atomic_load_n(&slot.arrived, __ATOMIC_ACQUIRE) != 0) continue;
        slot.started = false;
        slot.start_error = restart.error != 0 ? static_cast<std::int32_t>(restart.error) : kNotArrived;
        record_failed_hart(slot);
        publish(slot.record, HandoffState::kPark);  // should it come after all
        log<LogLevel::kWarn>([&](Console& out) {
            kmem::print(out, "hart ", slot.hart_id);
            if (restart.error != 0) {
                kmem::print(out, ": hart_start failed when started again: ", sbi::error_name(restart.error));
            } else {
                kmem::print(out, ": started but did not reach the loader within 10 s");
            }
            kmem::print(out, "; booting without it");
        });
    }
}

// The kernel's ELF file: linked into the image (kernel_blob.S) or, when the
// image holds none, the initrd.
extern "C" const std::byte loader_kernel_elf_start[];
extern "C" const std::byte loader_kernel_elf_end[];
extern "C" char __loader_start[];
extern "C" char __loader_data_start[];
extern "C" char __loader_end[];

kmem::PhysicalRange image_range(const void* begin, const void* end) {
    return {kmem::PhysicalAddress(reinterpret_cast<std::uintptr_t>(begin)),
            kmem::PhysicalAddress(reinterpret_cast<std::uintptr_t>(end))};
}

}  // namespace

kmem::PhysicalRange embedded_kernel() { return image_range(loader_kernel_elf_start, loader_kernel_elf_end); }

namespace {

// entry.S: 0 when the access trapped, else 1 with the CSR's value in *value.
extern "C" std::uint64_t loader_read_seed(std::uint64_t* value);

LOADER_NOCLEAR std::uint8_t zkr_entropy[32];

// 256 bits from the Zkr seed CSR when the boot hart has it and M-mode lets
// S-mode read it; empty otherwise. Raw entropy, which the planner hashes.
std::span<const std::uint8_t> read_zkr(const fdt::Hart& hart) {
    if (!hart.has_extension("zkr")) return {};
    const zkr::Collected collected = zkr::collect(
        [] {
            zkr::SeedRead read;
            read.ok = loader_read_seed(&read.value);
            return read;
        },
        zkr_entropy);
    switch (collected.outcome) {
        case zkr::Outcome::kFilled: return zkr_entropy;
        case zkr::Outcome::kTrapped:
            log<LogLevel::kInfo>([&](Console& out) {
                kmem::print(out, "the boot hart has Zkr but reading seed traps (M-mode did not set mseccfg.SSEED)");
            });
            return {};
        case zkr::Outcome::kDead:
        case zkr::Outcome::kTimedOut:
            log<LogLevel::kWarn>([&](Console& out) {
                kmem::print(out, "Zkr seed CSR gave ", collected.bytes,
                            collected.outcome == zkr::Outcome::kDead ? " of 32 bytes, then DEAD: not used"
                                                                     : " of 32 bytes before the poll limit: not used");
            });
            return {};
    }
    return {};
}

kmem::PhysicalRange find_kernel_file(const DoorInputs& door) {
    if (!door.kernel_file.empty()) return door.kernel_file;
    if (const kmem::PhysicalRange embedded = embedded_kernel(); !embedded.empty()) return embedded;
    if (!machine.chosen.has_initrd || machine.chosen.initrd.empty())
        fail("no kernel: this loader was built without one (-Dloader_kernel=none) and the device tree has no initrd (-initrd kernel.elf)");
    return machine.chosen.initrd;
}

// LoaderConfig.log_level: the loader logs no more than the kernel asks
// (docs/protocol.md, section 1), from the moment the plan has read it. A
// ceiling: it lowers the level the command line or the build chose, never
// raises it.
void cap_log_level(loader_api::LogLevel kernel_level) {
    LogLevel cap = kMaxLogLevel;
    switch (kernel_level) {
        case loader_api::LogLevel::Default: return;
        case loader_api::LogLevel::Error: cap = LogLevel::kError; break;
        case loader_api::LogLevel::Warn: cap = LogLevel::kWarn; break;
        case loader_api::LogLevel::Info: cap = LogLevel::kInfo; break;
        case loader_api::LogLevel::Debug: cap = LogLevel::kDebug; break;
    }
    if (cap < runtime_log_level()) set_runtime_log_level(cap);
}

void make_boot_plan(std::uint64_t hart_id, std::uint64_t dtb, const DoorInputs& door, const CommandLine& command_line,
                    const PagingModes& supported, const Timestamp& entry) {
    const kmem::PhysicalRange kernel = find_kernel_file(door);
    loader_api::PlanInput input;
    input.device_tree = {reinterpret_cast<const std::uint8_t*>(dtb), machine.fdt_size};
    input.device_tree_address = kmem::PhysicalAddress(dtb);
    input.kernel = {reinterpret_cast<const std::byte*>(kernel.begin().value()), kernel.size()};
    input.kernel_address = kernel.begin();
    input.options.supported_modes = supported;
    input.options.has_mode_cap = command_line.has_paging_limit;
    input.options.mode_cap = command_line.paging_limit;
    input.options.kaslr_off = command_line.kaslr_off;
    input.options.kaslr_default = LOADER_KASLR_DEFAULT;
    input.options.entropy = door.entropy;
    input.options.entropy_sources = door.entropy_sources;
    input.options.efi_system_table = door.efi_system_table;
    input.options.efi_memory_map = door.efi_memory_map;
    input.options.efi_memory_descriptor_size = door.efi_memory_descriptor_size;
    input.options.efi_memory_descriptor_version = door.efi_memory_descriptor_version;
    input.options.boot_hart_id = hart_id;
    input.options.loader_text = image_range(__loader_start, __loader_data_start);
    input.options.loader_data = {kmem::PhysicalAddress(reinterpret_cast<std::uintptr_t>(__loader_data_start)),
                                 kmem::PhysicalAddress(loader_memory_end)};
    input.options.loader_entry_time = entry.time;
    input.options.loader_entry_instret = entry.instret;
    input.machine = &plan.machine;
    input.options.step_counter = [] { return read_timestamp().instret; };
    auto planned = loader_api::make_plan(input, plan, physical_memory);
    if (!planned) fail_with([&](Console& out) { kmem::print(out, planned.error()); });
    static_assert(LOADER_PLAN_STEP_COUNT == loader_api::kPlanStepCount);
    for (std::size_t step = 0; step < loader_api::kPlanStepCount; ++step)
        loader_stats_record.plan_step[step] = plan.stats.step_counts[step];
    cap_log_level(plan.config.log_level);
    for (const loader_api::PlanWarning& warning : plan.warnings)
        log<LogLevel::kWarn>([&](Console& out) { kmem::print(out, warning); });
}

// At info level: the paging mode and where the kernel went.
void report_plan(const PagingModes& supported) {
    log<LogLevel::kInfo>([&](Console& out) {
        kmem::print(out, "paging: ", kmem::name(plan.mode), " (hart supports ", supported, "), ",
                    plan.stats.table_frames, " page-table frames");
    });
    log<LogLevel::kInfo>([&](Console& out) {
        kmem::print(out, "kernel: ", plan.kernel_virtual, " entry ", kmem::hex(plan.entry.value()),
                    plan.kaslr ? ", KASLR slide " : ", slide ", kmem::hex(plan.kaslr_slide), ", physmap at ",
                    kmem::hex(plan.physmap.begin().value()), ", boot info ",
                    kmem::hex(plan.boot_info_virtual.value()));
    });
}

}  // namespace

void boot(std::uint64_t hart_id, std::uint64_t dtb, const Timestamp& entry, const DoorInputs& door) {
    PhaseClock clock(entry.instret);
    clock.end(LOADER_PHASE_DOOR);
    const CommandLine command_line = parse_command_line(machine.chosen.bootargs);
    log<LogLevel::kInfo>([&](Console& out) {
        kmem::print(out, "reference loader " LOADER_VERSION " (", kCompiler, ")");
    });
    if (!command_line.unknown.empty()) {
        log<LogLevel::kWarn>([&](Console& out) {
            kmem::print(out, "ignoring command line word \"", command_line.unknown,
                        "\" (known: loader.log=, loader.paging=, loader.kaslr=off|on, loader.test_trap)");
        });
    }
    if (command_line.test_trap) {
        log<LogLevel::kInfo>([&](Console& out) { kmem::print(out, "loader.test_trap: executing an illegal instruction"); });
        asm volatile("unimp");
    }

    // Slots follow the device tree's cpu order, so sparse hart ids cost
    // nothing; there is one for every hart (use_room).
    slot_count = machine.harts.size();
    std::size_t boot_index = slot_count;
    for (std::size_t i = 0; i < slot_count; ++i) {
        new (&slots[i]) HartSlot;
        slots[i].hart_id = machine.harts[i].hart_id;
        if (machine.harts[i].hart_id == hart_id) boot_index = i;
    }
    if (boot_index == slot_count) {
        fail_with([&](Console& out) {
            kmem::print(out, "the boot hart ", hart_id, " is not among the loader's harts (/cpus)");
        });
    }
    const fdt::Hart& boot_hart = machine.harts[boot_index];
    HartSlot& boot_slot = slots[boot_index];
    boot_slot.stack_top = reinterpret_cast<std::uint64_t>(loader_boot_stack_top);
    boot_slot.started = true;
    boot_slot.arrived = 1;
    register_hart_slots(slots, slot_count);

    log<LogLevel::kDebug>([&](Console& out) {
        kmem::print(out, "entry to the end of the door (device tree read; EFI: boot services left): ",
                    loader_stats_record.phase[LOADER_PHASE_DOOR], " instructions");
    });
    const PagingModes supported = probe_modes();

    DoorInputs inputs = door;
    if (inputs.entropy.empty()) {
        inputs.entropy = read_zkr(boot_hart);
        if (!inputs.entropy.empty()) inputs.entropy_sources = loader_api::kEntropyZkr;
    }
    clock.end(LOADER_PHASE_SETUP);
    make_boot_plan(hart_id, dtb, inputs, command_line, supported, entry);
    // Which harts can run the kernel, and the timebase, are the plan's
    // decisions (the boot hart's refusal among them), so reported from it.
    std::size_t usable = 0;
    for (const loader_api::HartPlan& hart : plan.harts) usable += hart.state != loader_api::HartState::Unusable ? 1 : 0;
    const std::uint64_t frequency = plan.boot_info().timebase_frequency;
    print_machine(hart_id, usable, frequency);
    if (room_harts != 0) {
        log<LogLevel::kInfo>([&](Console& out) {
            kmem::print(out, "memory: room for ", room_harts, " harts at ", room_range,
                        loader_memory_end == room_range.end().value() ? ", after the image" : ", reserved");
        });
    }
    report_plan(supported);

    clock.end(LOADER_PHASE_PLAN);

    // Other harts run only from the first hart start until all have arrived
    // (LOADER_PHASE_HARTS); bench/run.py leaves that span out to count the
    // boot hart's own instructions.
    start_harts(boot_index);
    wait_for_arrivals(frequency);
    clock.end(LOADER_PHASE_HARTS);
    std::size_t started = 0;
    for (std::size_t i = 0; i < slot_count; ++i) {
        HartSlot& slot = slots[i];
        if (!slot.started) continue;
        ++started;
        const loader_api::HartPlan& hart = planned_hart(slot.hart_id);
        slot.record.satp = plan.satp;
        slot.record.sp = hart.sp.value();
        slot.record.tp = hart.tp.value();
        slot.record.entry = plan.entry.value();
        slot.record.a0 = slot.hart_id;
        slot.record.a1 = plan.boot_info_virtual.value();
    }

    const Timestamp handoff = read_timestamp();
    const auto write_elapsed = [&](Console& out) {
        const std::uint64_t ticks = handoff.time - entry.time;
        kmem::print(out, frequency != 0 ? ticks * 1'000'000 / frequency : ticks,
                    frequency != 0 ? " us" : " timebase ticks");
    };
    log<LogLevel::kInfo>([&](Console& out) {
        kmem::print(out, "boot: ");
        write_elapsed(out);
        kmem::print(out, ", ", handoff.instret - entry.instret);
        // instret counts instructions only under -icount; otherwise QEMU
        // returns host ticks.
        kmem::print(out, " instret from loader entry to handoff");
    });
    // The one line a user sees by default.
    log<LogLevel::kNotice>([&](Console& out) {
        kmem::print(out, LOADER_VERSION ": kernel entry ", kmem::hex(plan.entry.value()), ", ", kmem::name(plan.mode),
                    ", ", started, " of ", machine.harts.size(),
                    machine.harts.size() == 1 ? " hart started, " : " harts started, ");
        write_elapsed(out);
    });
    clock.end(LOADER_PHASE_HANDOFF);
    loader_api::set_handoff_timestamps(plan, handoff.time, handoff.instret, physical_memory);
    for (std::size_t i = 0; i < slot_count; ++i)
        if (slots[i].started) publish(slots[i].record, HandoffState::kGo);
    loader_handoff(&boot_slot.record);
}

}  // namespace loader

extern "C" [[noreturn]] void loader_secondary_main(std::uint64_t hart_id, loader::HartSlot* slot) {
    using namespace loader;
    __atomic_store_n(&slot->arrived, 1u, __ATOMIC_RELEASE);
    log<LogLevel::kDebug>([&](Console& out) {
        kmem::print(out, "hart ", hart_id, " waiting for its handoff");
    });
    loader_handoff(&slot->record);
}

extern "C" [[noreturn]] void loader_main(std::uint64_t hart_id, std::uint64_t dtb, std::uint64_t entry_time,
                                         std::uint64_t entry_instret) {
    loader::read_machine(dtb, nullptr);
    loader::boot(hart_id, dtb, loader::Timestamp{entry_time, entry_instret});
}
