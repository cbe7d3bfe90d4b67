/* The C example kernel: what a kernel written in C needs from this project,
 * which is one header, loader_api.h. Copy this directory to start one.
 *
 * Every started hart enters _start (start.S), which saves the entry
 * registers and calls c_kernel_main. Each hart checks the BootInfo and its
 * registers against docs/protocol.md, the boot hart prints the BootInfo and
 * the memory map, every hart says hello, and the boot hart, once all of
 * them have, prints `done: N harts` and powers the machine off.
 *
 * The console is SBI's legacy console_putchar (OpenSBI 1.1 has no DBCN);
 * no libc: the few helpers needed are here. */
#include <stddef.h>
#include <stdint.h>

#include "check.h"

/* The defaults with a larger stack, to show how a field is changed. */
LOADER_API_C_CONFIG(c_kernel_config, .stack_size = 128 * 1024);

/* start.S, and what it calls. */
void c_kernel_trap_vector(void);
_Noreturn void c_kernel_trap(uint64_t scause, uint64_t sepc, uint64_t stval);
_Noreturn void c_kernel_main(uint64_t hart_id, const loader_api_boot_info* info,
                             const struct c_kernel_entry_registers* registers);

/* ------------------------------------------------------------------ SBI */

struct sbi_result {
    long error;
    long value;
};

static struct sbi_result sbi_call(uint64_t extension, uint64_t function, uint64_t arg0, uint64_t arg1) {
    register uint64_t a0 __asm__("a0") = arg0;
    register uint64_t a1 __asm__("a1") = arg1;
    register uint64_t a6 __asm__("a6") = function;
    register uint64_t a7 __asm__("a7") = extension;
    __asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a6), "r"(a7) : "memory");
    struct sbi_result result = {(long)a0, (long)a1};
    return result;
}

#define SBI_LEGACY_CONSOLE_PUTCHAR 0x01
#define SBI_SRST 0x53525354 /* "SRST" */
#define SBI_SRST_SHUTDOWN 0
#define SBI_SRST_REASON_NONE 0
#define SBI_SRST_REASON_FAILURE 1

/* -------------------------------------------------------------- console */

/* Whole lines from one hart at a time. A 32-bit word: GCC 12 has no inline
 * sub-word atomics for RISC-V. */
static uint32_t console_lock;

static void lock(void) {
    while (__atomic_exchange_n(&console_lock, 1u, __ATOMIC_ACQUIRE) != 0) {
    }
}
static void unlock(void) { __atomic_store_n(&console_lock, 0u, __ATOMIC_RELEASE); }

static void put_char(char c) { (void)sbi_call(SBI_LEGACY_CONSOLE_PUTCHAR, 0, (unsigned char)c, 0); }

static void put(const char* text) {
    while (*text != '\0') put_char(*text++);
}

static void put_hex(uint64_t value) {
    char digits[16];
    int count = 0;
    do {
        digits[count++] = "0123456789abcdef"[value & 0xf];
        value >>= 4;
    } while (value != 0);
    put("0x");
    while (count > 0) put_char(digits[--count]);
}

static void put_dec(uint64_t value) {
    char digits[20];
    int count = 0;
    do {
        digits[count++] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    while (count > 0) put_char(digits[--count]);
}

/* "[begin, end)" */
static void put_range(uint64_t begin, uint64_t end) {
    put("[");
    put_hex(begin);
    put(", ");
    put_hex(end);
    put(")");
}

static void put_field(const char* name, uint64_t value) {
    put("  ");
    put(name);
    put(": ");
    put_hex(value);
    put("\n");
}

static void put_range_field(const char* name, uint64_t begin, uint64_t end) {
    put("  ");
    put(name);
    put(": ");
    put_range(begin, end);
    put("\n");
}

static uint64_t read_time(void) {
    uint64_t value;
    __asm__ volatile("rdtime %0" : "=r"(value));
    return value;
}

/* -------------------------------------------------------------- names */

static const char* paging_mode_name(loader_api_paging_mode mode) {
    switch (mode) {
        case LOADER_API_PAGING_SV39: return "Sv39";
        case LOADER_API_PAGING_SV48: return "Sv48";
        case LOADER_API_PAGING_SV57: return "Sv57";
    }
    return "?";
}

/* A kind from a newer minor version than the header's is not an error: the
 * protocol says to treat it as Reserved. */
static const char* region_kind_name(loader_api_memory_region_kind kind) {
    switch (kind) {
        case LOADER_API_REGION_USABLE: return "Usable";
        case LOADER_API_REGION_RESERVED: return "Reserved";
        case LOADER_API_REGION_KERNEL: return "Kernel";
        case LOADER_API_REGION_KERNEL_STACK: return "KernelStack";
        case LOADER_API_REGION_TLS: return "Tls";
        case LOADER_API_REGION_PAGE_TABLES: return "PageTables";
        case LOADER_API_REGION_BOOT_INFO: return "BootInfo";
        case LOADER_API_REGION_FDT: return "Fdt";
        case LOADER_API_REGION_INITRD: return "Initrd";
        case LOADER_API_REGION_LOADER_RECLAIMABLE: return "LoaderReclaimable";
#if LOADER_API_BOOT_INFO_VERSION_MINOR >= 1
        case LOADER_API_REGION_USABLE_UNMAPPED: return "UsableUnmapped";
        case LOADER_API_REGION_EFI_RUNTIME_CODE: return "EfiRuntimeCode";
        case LOADER_API_REGION_EFI_RUNTIME_DATA: return "EfiRuntimeData";
#endif
    }
    return "Reserved (a kind newer than this kernel)";
}

/* Likewise, an unknown state means "not started". */
static const char* hart_state_name(loader_api_hart_state state) {
    switch (state) {
        case LOADER_API_HART_STARTED: return "Started";
        case LOADER_API_HART_FAILED: return "Failed";
        case LOADER_API_HART_NOT_STARTED: return "NotStarted";
#if LOADER_API_BOOT_INFO_VERSION_MINOR >= 1
        case LOADER_API_HART_UNUSABLE: return "Unusable";
#endif
    }
    return "not started (a state newer than this kernel)";
}

/* ---------------------------------------------------------- power off */

static const loader_api_boot_info* boot_info; /* for the trap handler's power-off */
static uint32_t power_off_claimed;

static _Noreturn void park(void) {
    for (;;) __asm__ volatile("wfi");
}

static uint32_t be32(const unsigned char* bytes) {
    return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
}

static int same_string(const char* a, const char* b) {
    while (*a != '\0' && *a == *b) ++a, ++b;
    return *a == *b;
}

/* `compatible` is a list of NUL-terminated strings. */
static int is_test_device(const char* list, uint32_t length) {
    uint32_t at = 0;
    while (at < length) {
        const char* name = list + at;
        if (same_string(name, "sifive,test0") || same_string(name, "sifive,test1")) return 1;
        while (at < length && list[at] != '\0') ++at;
        ++at;
    }
    return 0;
}

#define FDT_MAGIC 0xd00dfeed
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4
#define FDT_END 9
#define FDT_MAX_DEPTH 16

/* The physical address of the first sifive,test node (QEMU's exit device),
 * or 0. A node's properties come before its children, so a node is complete
 * when its first child or its end arrives; its `reg` is read with the
 * #address-cells of its parent. */
static uint64_t find_test_device(const loader_api_boot_info* info) {
    const unsigned char* tree = (const unsigned char*)(uintptr_t)(info->device_tree.begin + info->physmap_offset);
    const uint64_t tree_size = info->device_tree.end - info->device_tree.begin;
    if (tree_size < 40 || be32(tree) != FDT_MAGIC) return 0;
    const uint32_t structure = be32(tree + 8), strings = be32(tree + 12), structure_size = be32(tree + 36);
    if ((uint64_t)structure + structure_size > tree_size || strings >= tree_size) return 0;

    uint32_t address_cells[FDT_MAX_DEPTH + 1];
    int depth = 0, pending = 0, compatible = 0;
    const unsigned char* reg = NULL;
    uint32_t reg_length = 0;
    address_cells[0] = 2;
    uint32_t at = structure;
    const uint32_t end = structure + structure_size;
    while (at + 4 <= end) {
        const uint32_t token = be32(tree + at);
        at += 4;
        if (token == FDT_BEGIN_NODE || token == FDT_END_NODE) {
            /* The node whose properties just ended. */
            if (pending && compatible && reg != NULL && depth >= 1) {
                const uint32_t cells = address_cells[depth - 1];
                if (cells == 1 && reg_length >= 4) return be32(reg);
                if (cells == 2 && reg_length >= 8) return (uint64_t)be32(reg) << 32 | be32(reg + 4);
            }
            pending = 0;
        }
        if (token == FDT_BEGIN_NODE) {
            if (depth == FDT_MAX_DEPTH) return 0;
            ++depth;
            address_cells[depth] = 2; /* the default for this node's children */
            pending = 1;
            compatible = 0;
            reg = NULL;
            while (at < end && tree[at] != '\0') ++at; /* the name */
            at = (at + 1 + 3) & ~3u;
        } else if (token == FDT_END_NODE) {
            if (depth == 0) return 0;
            --depth;
        } else if (token == FDT_PROP) {
            if (at + 8 > end) return 0;
            const uint32_t length = be32(tree + at), name = be32(tree + at + 4);
            const unsigned char* value = tree + at + 8;
            at += 8;
            if (length > end - at || name >= tree_size - strings) return 0;
            const char* property = (const char*)tree + strings + name;
            if (same_string(property, "compatible")) compatible = is_test_device((const char*)value, length);
            else if (same_string(property, "reg")) {
                reg = value;
                reg_length = length;
            }
            else if (same_string(property, "#address-cells") && length == 4) address_cells[depth] = be32(value);
            at = (at + length + 3) & ~3u;
        } else if (token == FDT_END) {
            break;
        } else if (token != FDT_NOP) {
            return 0;
        }
    }
    return 0;
}

#define PTE_V 0x01u
#define PTE_R 0x02u
#define PTE_W 0x04u
#define PTE_A 0x40u
#define PTE_D 0x80u

/* The loader maps RAM only, so the device needs a mapping of its own. The
 * cheapest one needs no page-table frame: a single leaf in a free
 * higher-half slot of the root table, mapping physical address 0 onwards
 * (0 is aligned for any leaf size). Root leaves are 1 GiB in Sv39, 512 GiB
 * in Sv48, 256 TiB in Sv57; a device above that is not reachable this way
 * (QEMU's is at 1 MiB). The kernel owns its tables (docs/protocol.md,
 * section 2) and only this hart runs by now. Returns the device's virtual
 * address, or 0. */
static uint64_t map_low_device(const loader_api_boot_info* info, uint64_t physical) {
    const unsigned levels = info->paging_mode - LOADER_API_PAGING_SV39 + 3;
    const unsigned shift = 12 + 9 * (levels - 1);
    if (physical >> shift != 0) return 0;
    volatile uint64_t* root = (volatile uint64_t*)(uintptr_t)(info->root_table + info->physmap_offset);
    for (unsigned index = 256; index < 512; ++index) {
        if (root[index] & PTE_V) continue;
        /* A and D set: the protocol does not rely on hardware A/D updates. */
        root[index] = PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;
        __asm__ volatile("sfence.vma" ::: "memory");
        /* index >= 256 sets the top bit of the address: sign-extend it. */
        const uint64_t base = (uint64_t)index << shift | ~((UINT64_C(1) << (shift + 9)) - 1);
        return base + physical;
    }
    return 0;
}

/* sifive,test commands: QEMU exits with status 0 on PASS, with the upper
 * 16 bits as the status on FAIL. */
#define FINISHER_PASS 0x5555u
#define FINISHER_FAIL 0x3333u

/* The first hart to get here powers off (exit status `code` under QEMU);
 * any other parks. */
static _Noreturn void power_off(uint32_t code) {
    if (__atomic_exchange_n(&power_off_claimed, 1u, __ATOMIC_ACQ_REL) != 0) park();
    const loader_api_boot_info* info = __atomic_load_n(&boot_info, __ATOMIC_ACQUIRE);
    const uint64_t device = info != NULL ? find_test_device(info) : 0;
    const uint64_t address = device != 0 ? map_low_device(info, device) : 0;
    lock();
    if (address != 0) {
        put("c-kernel: power off: sifive,test at ");
        put_hex(device);
        put("\n");
    } else {
        put("c-kernel: power off: no sifive,test device, SBI system reset\n");
    }
    unlock();
    if (address != 0) {
        const uint32_t status = code > 0xffff ? 0xffff : code;
        *(volatile uint32_t*)(uintptr_t)address = code == 0 ? FINISHER_PASS : status << 16 | FINISHER_FAIL;
    }
    (void)sbi_call(SBI_SRST, 0, SBI_SRST_SHUTDOWN, code == 0 ? SBI_SRST_REASON_NONE : SBI_SRST_REASON_FAILURE);
    lock();
    put("c-kernel: could not power off; parking\n");
    unlock();
    park();
}

static _Noreturn void fail(const char* message) {
    lock();
    put("c-kernel: error: ");
    put(message);
    put("\n");
    unlock();
    power_off(1);
}

_Noreturn void c_kernel_trap(uint64_t scause, uint64_t sepc, uint64_t stval) {
    /* The console lock may be held by the hart that trapped; a garbled line
     * beats no line. */
    put("c-kernel: error: trap: scause ");
    put_hex(scause);
    put(" sepc ");
    put_hex(sepc);
    put(" stval ");
    put_hex(stval);
    put("\n");
    power_off(0x7f);
}

/* ------------------------------------------------------------ the kernel */

static void print_boot_info(const loader_api_boot_info* info) {
    put("c-kernel: BootInfo ");
    put_dec(info->header.version_major);
    put(".");
    put_dec(info->header.version_minor);
    put(", ");
    put_dec(info->header.total_size);
    put(" bytes; this kernel was built against protocol ");
    put_dec(LOADER_API_BOOT_INFO_VERSION_MAJOR);
    put(".");
    put_dec(LOADER_API_BOOT_INFO_VERSION_MINOR);
    put("\n");
    put("  boot_hart_id: ");
    put_dec(info->boot_hart_id);
    put("\n  paging_mode: ");
    put(paging_mode_name(info->paging_mode));
    put("\n");
    put_field("root_table", info->root_table);
    put_field("physmap_offset", info->physmap_offset);
    put_range_field("physmap", info->physmap.begin, info->physmap.end);
    put_range_field("kernel_virtual", info->kernel_virtual.begin, info->kernel_virtual.end);
    put_field("kaslr_slide", info->kaslr_slide);
    put_range_field("kernel_file", info->kernel_file.begin, info->kernel_file.end);
    put_range_field("device_tree", info->device_tree.begin, info->device_tree.end);
    put_range_field("initrd", info->initrd.begin, info->initrd.end);
    put_field("tls_template.memory_size", info->tls_template.memory_size);
    put("  timebase_frequency: ");
    put_dec(info->timebase_frequency);
    put(" Hz\n  command_line: \"");
    put(loader_api_command_line(info));
    put("\"\n");
#if LOADER_API_BOOT_INFO_VERSION_MINOR >= 1
    /* c_kernel_check_boot_info refused a 1.0 block: these fields exist. */
    put_field("entropy_sources", info->entropy_sources);
    put_field("efi_system_table", info->efi_system_table);
    put("  efi_memory_map: ");
    put_dec(loader_api_efi_memory_map_size(info));
    put(" bytes\n");
#else
    put("  (fields after offset 280 are unknown to this kernel)\n");
#endif

    const loader_api_hart_info* harts = loader_api_hart_table(info);
    put("harts: ");
    put_dec(info->harts.count);
    put("\n");
    for (uint32_t i = 0; i < info->harts.count; ++i) {
        put("  hart ");
        put_dec(harts[i].hart_id);
        put(": ");
        put(hart_state_name(harts[i].state));
        put(" stack ");
        put_range(harts[i].stack.begin, harts[i].stack.end);
        put("\n");
    }

    const loader_api_memory_region* regions = loader_api_memory_regions(info);
    put("memory map: ");
    put_dec(info->memory_regions.count);
    put(" regions\n");
    for (uint32_t i = 0; i < info->memory_regions.count; ++i) {
        put("  ");
        put_range(regions[i].range.begin, regions[i].range.end);
        put(" ");
        put(region_kind_name(regions[i].kind));
        put("\n");
    }
}

/* Harts that have said hello. */
static uint32_t hellos;

/* Only harts the loader started will ever arrive. */
static uint32_t started_harts(const loader_api_boot_info* info) {
    const loader_api_hart_info* harts = loader_api_hart_table(info);
    uint32_t count = 0;
    for (uint32_t i = 0; i < info->harts.count; ++i)
        if (harts[i].state == LOADER_API_HART_STARTED) ++count;
    return count;
}

/* Every started hart runs this at about the same time; the boot hart is not
 * guaranteed to be first. */
_Noreturn void c_kernel_main(uint64_t hart_id, const loader_api_boot_info* info,
                             const struct c_kernel_entry_registers* registers) {
    /* Before anything can trap. */
    __asm__ volatile("csrw stvec, %0" ::"r"(&c_kernel_trap_vector));

    /* The header first: until it is checked, no other field can be trusted
     * to be where this kernel looks for it. */
    const char* problem = c_kernel_check_boot_info(info);
    if (problem != NULL) fail(problem);
    __atomic_store_n(&boot_info, info, __ATOMIC_RELEASE);
    problem = c_kernel_check_entry(info, registers);
    if (problem != NULL) fail(problem);

    const int boot_hart = hart_id == info->boot_hart_id;
    if (boot_hart) {
        /* One lock for the whole dump keeps it in one piece. */
        lock();
        print_boot_info(info);
        unlock();
    }

    lock();
    put("hello from hart ");
    put_dec(hart_id);
    put("\n");
    unlock();
    /* Release: whoever sees the count also sees this hart's output done. */
    __atomic_fetch_add(&hellos, 1u, __ATOMIC_RELEASE);
    if (!boot_hart) park();

    /* Wait for the others, but not forever: a missing hart is reported. */
    const uint32_t expected = started_harts(info);
    const uint64_t deadline = read_time() + 10 * info->timebase_frequency;
    while (__atomic_load_n(&hellos, __ATOMIC_ACQUIRE) < expected && read_time() < deadline) {
    }
    const uint32_t arrived = __atomic_load_n(&hellos, __ATOMIC_ACQUIRE);
    if (arrived < expected) fail("harts: not every started hart said hello within 10 s");
    lock();
    put("done: ");
    put_dec(arrived);
    put(" harts\n");
    unlock();
    power_off(0);
}
