// The C accessors of loader_api.h against the C++ views of the same block
// (c_header_layout.cpp, linked in, proves the layouts equal at compile time).

#include <cstring>

#include "doctest/doctest.h"
#include "loader_api/loader_api.h"
#include "sample_boot_info.hpp"

namespace {

const loader_api_boot_info* as_c(const loader_api::BootInfo& info) {
    return reinterpret_cast<const loader_api_boot_info*>(&info);
}

}  // namespace

TEST_CASE("the C accessors find what the C++ views find") {
    sample::Block block;
    sample::build(block);
    const loader_api::BootInfo& info = block.info();
    const loader_api_boot_info* c = as_c(info);

    CHECK(loader_api_is_compatible(c));
    CHECK(loader_api_has_v1_1(c));
    CHECK(static_cast<const void*>(loader_api_hart_table(c)) == info.hart_table().data());
    CHECK(c->harts.count == info.hart_table().size());
    CHECK(static_cast<const void*>(loader_api_memory_regions(c)) == info.regions().data());
    CHECK(static_cast<const void*>(loader_api_kernel_segments(c)) == info.segments().data());
    CHECK(std::strcmp(loader_api_command_line(c), "console=ttyS0 quiet") == 0);
    CHECK(loader_api_memory_regions(c)[7].kind == LOADER_API_REGION_BOOT_INFO);
    CHECK(loader_api_hart_table(c)[2].sbi_error == -3);

    for (std::uint64_t id : {0u, 5u, 9u})
        CHECK(static_cast<const void*>(loader_api_find_hart(c, id)) == info.find_hart(id));
    for (std::uint64_t id : {1u, 4u, 6u, 10u, 1000u}) CHECK(loader_api_find_hart(c, id) == nullptr);
}

TEST_CASE("the EFI memory map is read only from a 1.1 block") {
    alignas(8) std::array<std::byte, 4096> bytes{};
    auto builder = loader_api::BootInfoBuilder::create(
        bytes, loader_api::BootInfoCapacity{.harts = 1, .regions = 1, .segments = 1, .command_line = 8, .efi_memory_map = 80});
    REQUIRE(builder.has_value());
    std::array<std::byte, 80> map{};
    map[0] = std::byte{7};
    REQUIRE(builder->set_efi_memory_map(map, 40, 1).has_value());
    const loader_api_boot_info* c = as_c(builder->info());

    CHECK(loader_api_efi_memory_map_size(c) == 80);
    CHECK(static_cast<const void*>(loader_api_efi_memory_map(c)) == builder->info().efi_memory_map_bytes().data());
    CHECK(loader_api_efi_memory_map(c)[0] == 7);

    // The same bytes labelled 1.0: the 1.1 fields must not be read at all.
    builder->info().header.version_minor = 0;
    CHECK(!loader_api_has_v1_1(c));
    CHECK(loader_api_efi_memory_map(c) == nullptr);
    CHECK(loader_api_efi_memory_map_size(c) == 0);
}

TEST_CASE("a wrong magic, major or fingerprint is incompatible") {
    sample::Block block;
    sample::build(block);
    loader_api::BootInfo& info = block.info();
    info.header.abi_fingerprint ^= 1;
    CHECK(!loader_api_is_compatible(as_c(info)));
    info.header.abi_fingerprint ^= 1;
    info.header.version_major = 2;
    CHECK(!loader_api_is_compatible(as_c(info)));
    info.header.version_major = 1;
    info.header.magic = 0;
    CHECK(!loader_api_is_compatible(as_c(info)));
}
