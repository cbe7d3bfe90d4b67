// Reflection: the fingerprint reacts to every change of a field's name,
// offset or size (also inside nested types and array entry types), and the
// human-readable form is derived from the field lists.

#include <cstdint>
#include <string>

#include <doctest/doctest.h>

#include "loader_api/reflect.hpp"
#include "sample_boot_info.hpp"

namespace probe {
struct Inner {
    std::uint32_t a;
    std::uint32_t b;
};
struct Base {
    std::uint64_t x;
    Inner inner;
    std::uint8_t bytes[8];
};
struct Renamed {  // x -> y
    std::uint64_t y;
    Inner inner;
    std::uint8_t bytes[8];
};
struct Moved {  // inner first: every offset changes, names and sizes stay
    Inner inner;
    std::uint64_t x;
    std::uint8_t bytes[8];
};
struct Resized {  // bytes[8] -> bytes[16]
    std::uint64_t x;
    Inner inner;
    std::uint8_t bytes[16];
};
struct InnerRenamed {
    std::uint32_t a;
    std::uint32_t c;
};
struct NestedChange {  // same outer names, offsets, sizes; a nested name differs
    std::uint64_t x;
    InnerRenamed inner;
    std::uint8_t bytes[8];
};
struct Flattened {  // inner's fields inlined: same bytes, different structure
    std::uint64_t x;
    std::uint32_t a;
    std::uint32_t b;
    std::uint8_t bytes[8];
};
struct Appended {  // a minor version's addition after Base's fields
    std::uint64_t x;
    Inner inner;
    std::uint8_t bytes[8];
    std::uint64_t added;
};
}  // namespace probe

LOADER_API_REFLECT(probe::Inner, a, b);
LOADER_API_REFLECT(probe::InnerRenamed, a, c);
LOADER_API_REFLECT(probe::Base, x, inner, bytes);
LOADER_API_REFLECT(probe::Renamed, y, inner, bytes);
LOADER_API_REFLECT(probe::Moved, inner, x, bytes);
LOADER_API_REFLECT(probe::Resized, x, inner, bytes);
LOADER_API_REFLECT(probe::NestedChange, x, inner, bytes);
LOADER_API_REFLECT(probe::Flattened, x, a, b, bytes);
LOADER_API_REFLECT(probe::Appended, x, inner, bytes, added);

using namespace loader_api;
namespace r = loader_api::reflect;

TEST_CASE("fingerprint: every kind of field change is detected") {
    constexpr auto base = r::fingerprint<probe::Base>();
    static_assert(base == r::fingerprint<probe::Base>());  // deterministic, at compile time
    CHECK(base != r::fingerprint<probe::Renamed>());
    CHECK(base != r::fingerprint<probe::Moved>());
    CHECK(base != r::fingerprint<probe::Resized>());
    CHECK(base != r::fingerprint<probe::NestedChange>());
    CHECK(base != r::fingerprint<probe::Flattened>());
    CHECK(r::fingerprint<probe::Inner>() != r::fingerprint<probe::InnerRenamed>());
}

TEST_CASE("fingerprint: fields appended after the prefix do not count, every other change does") {
    constexpr auto base = r::fingerprint<probe::Base>();
    CHECK(r::fingerprint<probe::Appended>() != base);
    CHECK(r::fingerprint<probe::Appended>(kmem::kFnv1aBasis, sizeof(probe::Base)) == base);
    CHECK(r::fingerprint<probe::Renamed>(kmem::kFnv1aBasis, sizeof(probe::Base)) != base);
    // BootInfo 1.1 appends to the 1.0 part: the block's fingerprint is still 1.0's.
    CHECK(r::abi_fingerprint() == kAbiFingerprint);
    CHECK(r::abi_fingerprint() == 0x509023801325d573);
    CHECK(r::fingerprint<BootInfo>() != r::fingerprint<BootInfo>(kmem::kFnv1aBasis, kBootInfoFixedSizeV1_0));
}

TEST_CASE("fingerprint: the header constant is the computed one") {
    // reflect.hpp refuses to compile otherwise; this documents the link.
    static_assert(r::abi_fingerprint() == kAbiFingerprint);
    // The entry types of the arrays take part, not just BootInfo's own fields.
    CHECK(r::abi_fingerprint() != r::fingerprint<BootInfo>());
}

TEST_CASE("field layout matches offsetof") {
    CHECK(r::Layout<BootInfo>::fields[0].name == "header");
    CHECK(r::Layout<BootInfo>::fields[19].name == "timestamps");
    CHECK(r::Layout<BootInfo>::fields[19].offset == offsetof(BootInfo, timestamps));
    CHECK(r::Layout<BootInfo>::fields[17].size == 32);  // random
    CHECK(std::size(r::Layout<BootInfo>::fields) == 26);
    CHECK(r::Layout<BootInfo>::fields[20].name == "entropy_sources");
    CHECK(r::Layout<BootInfo>::fields[20].offset == kBootInfoFixedSizeV1_0);
    CHECK(std::size(r::Layout<LoaderConfig>::fields) == 13);
    // The fields are listed in order and cover the struct without gaps.
    std::size_t end = 0;
    for (const auto& field : r::Layout<BootInfo>::fields) {
        CHECK(field.offset == end);
        end = field.offset + field.size;
    }
    CHECK(end == sizeof(BootInfo));
}

namespace {
std::string formatted(auto&& write) {
    std::string out;
    struct Sink {
        std::string* out;
        void put(char c) { out->push_back(c); }
    } sink{&out};
    write(sink);
    return out;
}
}  // namespace

TEST_CASE("format: one line per struct, nested and named") {
    const MemoryRegion region{{0x80000000, 0x80200000}, MemoryRegionKind::Reserved};
    CHECK(formatted([&](auto& s) { r::format_fields(s, region); }) ==
          "{range: [0x80000000, 0x80200000) 2 MiB, kind: Reserved, reserved: 0}");
    const HartInfo hart{7, HartState::Failed, -2, {}, {}};
    CHECK(formatted([&](auto& s) { r::format_fields(s, hart); }) ==
          "{hart_id: 7, state: Failed, sbi_error: -2, stack: [0x0, 0x0), tls: [0x0, 0x0)}");
    const LoaderConfig config{};
    CHECK(formatted([&](auto& s) { r::format_fields(s, config); }) ==
          "{magic: 0x47464e4f4352444c, version_major: 1, version_minor: 0, size: 56, stack_size: 0x10000, "
          "min_paging_mode: Sv39, max_paging_mode: Sv57, preferred_paging_mode: Sv48, kaslr: Default, "
          "start_harts: All, max_harts: 0, allow_write_execute: 0, log_level: Default}");
    // An enum value without a name prints its number.
    const MemoryRegion odd{{0, 0x1000}, static_cast<MemoryRegionKind>(42)};
    CHECK(formatted([&](auto& s) { r::format_fields(s, odd); }).find("kind: 42,") != std::string::npos);
}

TEST_CASE("format: the whole block, arrays included") {
    sample::Block block;
    sample::build(block);
    const std::string text = formatted([&](auto& s) { r::format_boot_info(s, block.info()); });
    CHECK(text.starts_with("BootInfo\n  header: {magic: 0x4f464e49544f4f42, version_major: 1, version_minor: 1, total_size: 1088, "));
    CHECK(text.find("\n  boot_hart_id: 5\n") != std::string::npos);
    CHECK(text.find("\n  paging_mode: Sv48\n") != std::string::npos);
    CHECK(text.find("\n  physmap: [0xffff800080000000, 0xffff800090000000) 256 MiB\n") != std::string::npos);
    CHECK(text.find("\n  random: 01080f161d242b323940474e555c636a71787f868d949ba2a9b0b7bec5ccd3da\n") != std::string::npos);
    CHECK(text.find("\n  harts[2]: {hart_id: 9, state: Failed, sbi_error: -3, ") != std::string::npos);
    CHECK(text.find("\n  memory_regions[12]: {range: [0x8ff03000, 0x90000000) 1012 KiB, kind: Usable, reserved: 0}\n") !=
          std::string::npos);
    CHECK(text.find("\n  device_tree: [0x8ff00100, 0x8ff02100) 8 KiB\n") != std::string::npos);
    CHECK(text.find("\n  kernel_segments[1]: {virt: [0xffffffff80204000, 0xffffffff80206000) 8 KiB, physical_begin: 0x80200000, flags: 11, reserved: 0}\n") != std::string::npos);
    CHECK(text.ends_with("\n  command_line: \"console=ttyS0 quiet\"\n"));
}

TEST_CASE("json: escaping") {
    CHECK(formatted([&](auto& s) { r::write_json_string(s, "a\"b\\c\n\x01\xff"); }) == "\"a\\\"b\\\\c\\u000a\\u0001\\u00ff\"");
    const TlsTemplate tls{0xffffffff80001000, 16, 64, 8};
    CHECK(formatted([&](auto& s) { r::write_json(s, tls); }) ==
          "{\"start\":18446744071562072064,\"file_size\":16,\"memory_size\":64,\"alignment\":8}");
}
