// The C kernel's own checks (examples/kernels/c/check.c, compiled as C for
// the host) on blocks made by BootInfoBuilder: a kernel that reads 1.1
// fields must refuse a 1.0 block by name, and its entry check must notice
// each register the loader could get wrong.

#include <string>

#include "check.h"  // examples/kernels/c
#include "doctest/doctest.h"
#include "sample_boot_info.hpp"

namespace {

const loader_api_boot_info* as_c(const loader_api::BootInfo& info) {
    return reinterpret_cast<const loader_api_boot_info*>(&info);
}

std::string check(const loader_api::BootInfo& info) {
    const char* problem = c_kernel_check_boot_info(as_c(info));
    return problem == nullptr ? "ok" : problem;
}

std::string check(const loader_api::BootInfo& info, const c_kernel_entry_registers& registers) {
    const char* problem = c_kernel_check_entry(as_c(info), &registers);
    return problem == nullptr ? "ok" : problem;
}

}  // namespace

TEST_CASE("the C kernel built against 1.1 refuses a 1.0 BootInfo by name") {
    sample::Block block;
    sample::build(block);
    loader_api::BootInfo& info = block.info();
    CHECK(check(info) == "ok");

    info.header.version_minor = 0;
    CHECK(check(info) == "BootInfo: version 1.0, but this kernel needs 1.1 (it reads entropy_sources and the EFI fields)");

    // A newer minor is fine: it only appends.
    info.header.version_minor = 7;
    CHECK(check(info) == "ok");
}

TEST_CASE("the C kernel's header checks name the field") {
    sample::Block block;
    sample::build(block);
    loader_api::BootInfo& info = block.info();

    info.header.magic ^= 0x100;
    CHECK(check(info) == "BootInfo: bad magic (not a BootInfo)");
    info.header.magic ^= 0x100;
    info.header.version_major = 2;
    CHECK(check(info) == "BootInfo: major version is not 1 (incompatible layout)");
    info.header.version_major = 1;
    info.header.abi_fingerprint += 1;
    CHECK(check(info) == "BootInfo: ABI fingerprint differs from this kernel's");
    info.header.abi_fingerprint -= 1;
    info.header.total_size = loader_api::kBootInfoFixedSizeV1_1 - 8;
    CHECK(check(info) == "BootInfo: total_size is smaller than the fixed part");
}

TEST_CASE("the C kernel's entry check catches each wrong register") {
    sample::Block block;
    sample::build(block);
    const loader_api::BootInfo& info = block.info();
    const loader_api::HartInfo& hart = *info.find_hart(5);
    // What the loader must pass hart 5 of the sample machine (Sv48 = 9).
    const c_kernel_entry_registers good = {
        .a0 = 5,
        .a1 = 0x80408000 + sample::kPhysmapOffset,
        .sp = hart.stack.end,
        .tp = hart.tls.begin,
        .gp = 0,
        .ra = 0,
        .satp = (std::uint64_t{9} << 60) | (0x80400000 >> 12),
    };
    CHECK(check(info, good) == "ok");

    auto with = [&](auto change) {
        c_kernel_entry_registers registers = good;
        change(registers);
        return check(info, registers);
    };
    CHECK(with([](auto& r) { r.a0 = 9; }) == "entry: a0 is not a started hart of the hart table");  // Failed
    CHECK(with([](auto& r) { r.a0 = 6; }) == "entry: a0 is not a started hart of the hart table");  // absent
    CHECK(with([](auto& r) { r.a1 += 4; }) == "entry: a1 (BootInfo) is not 8-byte aligned inside the physmap");
    CHECK(with([](auto& r) { r.a1 = 0x80408000; }) == "entry: a1 (BootInfo) is not 8-byte aligned inside the physmap");
    CHECK(with([](auto& r) { r.sp -= 16; }) == "entry: sp is not stack.end of this hart");
    CHECK(with([&](auto& r) { r.a0 = 0; }) == "entry: sp is not stack.end of this hart");  // hart 0's stack differs
    CHECK(with([](auto& r) { r.tp += 0x1000; }) == "entry: tp is not tls.begin of this hart");
    CHECK(with([](auto& r) { r.gp = 0x800; }) == "entry: gp is not 0");
    CHECK(with([](auto& r) { r.ra = 4; }) == "entry: ra is not 0");
    CHECK(with([](auto& r) { r.satp += std::uint64_t{1} << 44; }) == "entry: satp is not paging_mode, ASID 0, root_table");
    CHECK(with([](auto& r) { r.satp = (std::uint64_t{8} << 60) | (0x80400000 >> 12); }) ==
          "entry: satp is not paging_mode, ASID 0, root_table");
}
