#include "paging.hpp"

#include "handoff.hpp"
#include "kmem/address.hpp"

namespace loader {
namespace {

// One table per level above the gigapages: gigapages[] is an Sv39 root, and
// each extra level adds a table whose entry for the probe points one level
// down. Every entry is written by build_identity_tables().
LOADER_NOCLEAR alignas(kmem::kPageSize) std::uint64_t gigapages[512];
LOADER_NOCLEAR alignas(kmem::kPageSize) std::uint64_t sv48_root[512];
LOADER_NOCLEAR alignas(kmem::kPageSize) std::uint64_t sv57_root[512];

kmem::PhysicalAddress physical(const void* table) {
    return kmem::PhysicalAddress(reinterpret_cast<std::uintptr_t>(table));
}

// The write, the read-back and the return to Bare in straight-line code: the
// identity root keeps the fetches between them valid whatever the mode does.
// Out of line, so that its address is where those fetches happen.
[[gnu::noinline]] std::uint64_t write_and_read_satp(std::uint64_t value) {
    std::uint64_t read_back = 0;
    asm volatile(
        "csrw satp, %1\n\t"
        "csrr %0, satp\n\t"
        "csrw satp, zero\n\t"
        "sfence.vma"
        : "=&r"(read_back)
        : "r"(value)
        : "memory");
    return read_back;
}

}  // namespace

void build_identity_tables() {
    // The loader's code and data share its gigapage, so this bootstrap
    // mapping is deliberately writable and executable; no kernel runs on it.
    const kmem::PageFlags flags{.read = true, .write = true, .execute = true, .global = true,
                                .allow_write_execute = true};
    // The probe's three fetches with translation on are the only accesses
    // the tables serve, so they map just the gigapage holding the probe (and
    // the next, should it straddle one): three zeroed tables and a few
    // entries, where mapping all 512 GiB cost 6,000 instructions.
    __builtin_memset(gigapages, 0, sizeof gigapages);
    __builtin_memset(sv48_root, 0, sizeof sv48_root);
    __builtin_memset(sv57_root, 0, sizeof sv57_root);
    const std::uint64_t probe = reinterpret_cast<std::uintptr_t>(&write_and_read_satp);
    for (const std::uint64_t address : {probe, probe + 64}) {
        const std::uint64_t gigapage = address >> 30;
        gigapages[gigapage % 512] = kmem::Pte::leaf(kmem::PhysicalAddress(gigapage << 30), flags, 2).raw();
    }
    sv48_root[(probe >> 39) % 512] = kmem::Pte::table(physical(gigapages)).raw();
    sv57_root[(probe >> 48) % 512] = kmem::Pte::table(physical(sv48_root)).raw();
    asm volatile("fence rw, rw" ::: "memory");
}

std::uint64_t identity_satp(kmem::PagingModeId mode) {
    switch (mode) {
        case kmem::PagingModeId::Sv39: return kmem::Sv39::satp(physical(gigapages));
        case kmem::PagingModeId::Sv48: return kmem::Sv48::satp(physical(sv48_root));
        case kmem::PagingModeId::Sv57: return kmem::Sv57::satp(physical(sv57_root));
    }
    return 0;
}

PagingModes probe_paging_modes() {
    PagingModes modes;
    for (auto mode : {kmem::PagingModeId::Sv57, kmem::PagingModeId::Sv48, kmem::PagingModeId::Sv39}) {
        const std::uint64_t value = identity_satp(mode);
        if (write_and_read_satp(value) == value) modes.add(mode);
    }
    return modes;
}

}  // namespace loader
