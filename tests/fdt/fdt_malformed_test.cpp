// Broken blobs: every one must give an error value with a sensible code and
// offset, never a crash (this runs under ASan and UBSan).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "blob_builder.hpp"
#include "loader_api/fdt.hpp"
#include "loader_api/host/text.hpp"

using namespace loader_api::fdt;
using fdt_test::BlobBuilder;
using fdt_test::cells;
using fdt_test::set_be32;

namespace {

using loader_api::host::StringSink;

// Header, then the walk, then MachineInfo: the first error met.
Result<void> read_all(const std::vector<std::uint8_t>& blob) {
    static MachineInfo info;
    return read_machine_info(Bytes(blob.data(), blob.size()), info);
}

// The error's views point into the blob, so it is kept until the next call.
Error error_of(const std::vector<std::uint8_t>& blob) {
    static std::vector<std::uint8_t> kept;
    kept = blob;
    auto result = read_all(kept);
    REQUIRE_FALSE(result);
    StringSink sink;
    result.error().format(sink);
    CHECK(sink.text.starts_with("fdt: "));
    return result.error();
}

std::vector<std::uint8_t> small_tree(fdt_test::Layout* layout = nullptr) {
    BlobBuilder b;
    b.reserve(0x8000'0000, 0x1000);
    b.begin("").prop("#address-cells", cells({2})).prop("#size-cells", cells({1}));
    b.begin("memory@80000000").prop("device_type", "memory").prop("reg", cells({0, 0x8000'0000, 0x100'0000})).end();
    b.begin("cpus").prop("#address-cells", cells({1})).prop("#size-cells", cells({0}));
    b.begin("cpu@0").prop("device_type", "cpu").prop("reg", cells({0})).prop("riscv,isa", "rv64gc").end();
    b.end();
    b.begin("chosen").prop("bootargs", "x").end();
    b.end();
    return b.finish(true, 17, layout);
}

}  // namespace

TEST_CASE("the small tree itself is valid") { CHECK(read_all(small_tree())); }

TEST_CASE("buffer cut at every byte: header-level error") {
    const auto blob = small_tree();
    for (std::size_t n = 0; n < blob.size(); ++n) {
        // A fresh allocation of exactly n bytes, so ASan sees any read past it.
        std::vector<std::uint8_t> cut(blob.begin(), blob.begin() + static_cast<std::ptrdiff_t>(n));
        const Error e = error_of(cut);
        if (n < kHeaderSize) {
            CHECK(e.code == ErrorCode::kTruncatedHeader);
            CHECK(e.detail == n);
        } else {
            CHECK(e.code == ErrorCode::kTotalSizeBeyondBuffer);
            CHECK(e.detail == blob.size());
            CHECK(e.detail2 == n);
        }
    }
}

TEST_CASE("tree cut at every byte with totalsize and block sizes rewritten to match") {
    fdt_test::Layout layout;
    const auto blob = small_tree(&layout);
    int walk_errors = 0;
    for (std::size_t n = kHeaderSize; n < blob.size(); ++n) {
        std::vector<std::uint8_t> cut(blob.begin(), blob.begin() + static_cast<std::ptrdiff_t>(n));
        set_be32(cut, 4, static_cast<std::uint32_t>(n));
        // Shrink each block to what is left of it, as a careless producer would.
        const auto clamp = [&](std::size_t offset, std::size_t size_field) {
            const std::size_t size = (std::uint32_t{cut[size_field]} << 24) | (std::uint32_t{cut[size_field + 1]} << 16) |
                                     (std::uint32_t{cut[size_field + 2]} << 8) | cut[size_field + 3];
            const std::size_t left = n > offset ? n - offset : 0;
            set_be32(cut, size_field, static_cast<std::uint32_t>(size < left ? size : left));
        };
        clamp(layout.struct_offset, 36);
        clamp(layout.strings_offset, 32);
        auto result = read_all(cut);
        REQUIRE_FALSE(result);
        const Error e = result.error();
        CHECK(e.offset <= n);
        if (n < layout.struct_offset) {
            CHECK((e.code == ErrorCode::kMemReserveUnterminated || e.code == ErrorCode::kBlockOutOfBounds));
        } else if (n < layout.strings_offset) {
            ++walk_errors;
            CHECK((e.code == ErrorCode::kTruncatedStructure || e.code == ErrorCode::kBlockOutOfBounds ||
                   e.code == ErrorCode::kUnterminatedNodeName || e.code == ErrorCode::kPropertyPastEnd ||
                   e.code == ErrorCode::kBadNameOffset));
        } else {
            // Only the strings block is short: some name is cut off.
            CHECK((e.code == ErrorCode::kBadNameOffset || e.code == ErrorCode::kUnterminatedPropertyName));
        }
    }
    CHECK(walk_errors > 100);
}

TEST_CASE("header errors") {
    auto blob = small_tree();
    SUBCASE("bad magic") {
        blob[0] = 0xde;
        const Error e = error_of(blob);
        CHECK(e.code == ErrorCode::kBadMagic);
        CHECK(e.offset == 0);
        CHECK(e.detail == 0xde0dfeed);
    }
    SUBCASE("version too old") {
        set_be32(blob, 20, 15);
        const Error e = error_of(blob);
        CHECK(e.code == ErrorCode::kUnsupportedVersion);
        CHECK(e.offset == 20);
        CHECK(e.detail == 15);
    }
    SUBCASE("incompatible newer version") {
        set_be32(blob, 20, 18);
        set_be32(blob, 24, 18);
        CHECK(error_of(blob).code == ErrorCode::kUnsupportedVersion);
    }
    SUBCASE("newer version compatible with 17 is read") {
        set_be32(blob, 20, 18);
        CHECK(read_all(blob));
    }
    SUBCASE("totalsize smaller than the header") {
        set_be32(blob, 4, 39);
        CHECK(error_of(blob).code == ErrorCode::kTotalSizeTooSmall);
    }
    SUBCASE("structure block past the end") {
        set_be32(blob, 8, static_cast<std::uint32_t>(blob.size() + 4));
        const Error e = error_of(blob);
        CHECK(e.code == ErrorCode::kBlockOutOfBounds);
        CHECK(e.block == Block::kStructure);
        CHECK(e.offset == 8);
    }
    SUBCASE("structure size past the end") {
        set_be32(blob, 36, 0xffff'fff0);
        const Error e = error_of(blob);
        CHECK(e.code == ErrorCode::kBlockOutOfBounds);
        CHECK(e.block == Block::kStructure);
    }
    SUBCASE("strings block past the end") {
        set_be32(blob, 12, 0xffff'ff00);
        const Error e = error_of(blob);
        CHECK(e.code == ErrorCode::kBlockOutOfBounds);
        CHECK(e.block == Block::kStrings);
        CHECK(e.offset == 12);
    }
    SUBCASE("strings size past the end") {
        set_be32(blob, 32, static_cast<std::uint32_t>(blob.size()));
        CHECK(error_of(blob).block == Block::kStrings);
    }
    SUBCASE("block inside the header") {
        set_be32(blob, 8, 8);
        CHECK(error_of(blob).code == ErrorCode::kBlockOutOfBounds);
    }
    SUBCASE("misaligned structure block") {
        set_be32(blob, 8, 42);
        set_be32(blob, 36, 4);
        const Error e = error_of(blob);
        CHECK(e.code == ErrorCode::kMisalignedBlock);
        CHECK(e.block == Block::kStructure);
        CHECK(e.detail == 42);
    }
    SUBCASE("misaligned reservation map") {
        set_be32(blob, 16, 44);
        const Error e = error_of(blob);
        CHECK(e.code == ErrorCode::kMisalignedBlock);
        CHECK(e.block == Block::kMemReserve);
    }
    SUBCASE("reservation map without terminator") {
        // Point the map at the last 8 bytes: no room for a 16-byte entry.
        set_be32(blob, 16, static_cast<std::uint32_t>((blob.size() - 8) & ~std::size_t{7}));
        const Error e = error_of(blob);
        CHECK(e.code == ErrorCode::kMemReserveUnterminated);
        CHECK(blob.size() - e.offset < 16);
    }
}

TEST_CASE("structure errors") {
    SUBCASE("bad token") {
        BlobBuilder b;
        b.begin("").begin("dev").token(7).end().end();
        fdt_test::Layout layout;
        const auto blob = b.finish(true, 17, &layout);
        const Error e = error_of(blob);
        CHECK(e.code == ErrorCode::kBadToken);
        CHECK(e.detail == 7);
        CHECK(e.offset == layout.struct_offset + 8 + 8);  // after root (8 bytes) and "dev" (8 bytes)
        CHECK(e.node.view() == "/dev");
    }
    SUBCASE("unterminated node name") {
        BlobBuilder b;
        b.begin("");
        b.token(1);
        for (char c : std::string("abcd")) b.structure().push_back(static_cast<std::uint8_t>(c));
        CHECK(error_of(b.finish(false)).code == ErrorCode::kUnterminatedNodeName);
    }
    SUBCASE("property value past the block") {
        BlobBuilder b;
        b.begin("").prop("x", cells({1}));
        auto blob = b.finish();
        fdt_test::Layout layout;
        blob = b.finish(true, 17, &layout);
        set_be32(blob, layout.struct_offset + 8 + 4, 0x1000);  // len of the property after root's 8 bytes
        const Error e = error_of(blob);
        CHECK(e.code == ErrorCode::kPropertyPastEnd);
        CHECK(e.detail == 0x1000);
        CHECK(e.offset == layout.struct_offset + 8);
        CHECK(e.node.view() == "/");
    }
    SUBCASE("property length near 2^32") {
        BlobBuilder b;
        b.begin("").prop("x", cells({1}));
        fdt_test::Layout layout;
        auto blob = b.finish(true, 17, &layout);
        set_be32(blob, layout.struct_offset + 8 + 4, 0xffff'fffe);
        CHECK(error_of(blob).code == ErrorCode::kPropertyPastEnd);
    }
    SUBCASE("name offset past the strings block") {
        BlobBuilder b;
        b.begin("").prop("x", cells({1})).end();
        fdt_test::Layout layout;
        auto blob = b.finish(true, 17, &layout);
        set_be32(blob, layout.struct_offset + 8 + 8, 0x10'0000);
        const Error e = error_of(blob);
        CHECK(e.code == ErrorCode::kBadNameOffset);
        CHECK(e.detail == 0x10'0000);
    }
    SUBCASE("unterminated property name") {
        BlobBuilder b;
        b.begin("").prop("x", cells({1})).end();
        fdt_test::Layout layout;
        auto blob = b.finish(true, 17, &layout);
        // The strings block is "x\0": drop the NUL from its size.
        set_be32(blob, 32, 1);
        CHECK(error_of(blob).code == ErrorCode::kUnterminatedPropertyName);
    }
    SUBCASE("nesting deeper than kMaxDepth") {
        BlobBuilder b;
        for (std::uint32_t i = 0; i <= kMaxDepth; ++i) b.begin(i == 0 ? "" : "n");
        for (std::uint32_t i = 0; i <= kMaxDepth; ++i) b.end();
        const Error e = error_of(b.finish());
        CHECK(e.code == ErrorCode::kNestingTooDeep);
        CHECK(e.detail == kMaxDepth);
        CHECK(e.node.view().size() == 2 * (kMaxDepth - 1));  // "/n" for each level below the root
        BlobBuilder ok;
        for (std::uint32_t i = 0; i < kMaxDepth; ++i) ok.begin(i == 0 ? "" : "n");
        for (std::uint32_t i = 0; i < kMaxDepth; ++i) ok.end();
        CHECK(read_all(ok.finish()));
    }
    SUBCASE("end node without a node") {
        BlobBuilder b;
        b.begin("").end().end();
        CHECK(error_of(b.finish()).code == ErrorCode::kUnbalancedEndNode);
    }
    SUBCASE("property outside any node") {
        BlobBuilder b;
        b.prop("x", cells({1})).begin("").end();
        CHECK(error_of(b.finish()).code == ErrorCode::kPropertyOutsideNode);
    }
    SUBCASE("property after a subnode") {
        BlobBuilder b;
        b.begin("").begin("a").end().prop("late", cells({1})).end();
        const Error e = error_of(b.finish());
        CHECK(e.code == ErrorCode::kPropertyAfterSubnode);
        CHECK(e.property == "late");
    }
    SUBCASE("two roots") {
        BlobBuilder b;
        b.begin("").end().begin("").end();
        CHECK(error_of(b.finish()).code == ErrorCode::kMultipleRoots);
    }
    SUBCASE("no root") {
        BlobBuilder b;
        b.nop();
        CHECK(error_of(b.finish()).code == ErrorCode::kMissingRoot);
    }
    SUBCASE("FDT_END inside a node") {
        BlobBuilder b;
        b.begin("").begin("a");
        const Error e = error_of(b.finish());
        CHECK(e.code == ErrorCode::kUnclosedNode);
        CHECK(e.node.view() == "/a");
    }
    SUBCASE("no FDT_END") {
        BlobBuilder b;
        b.begin("").end();
        const Error e = error_of(b.finish(false));
        CHECK(e.code == ErrorCode::kTruncatedStructure);
    }
    SUBCASE("bad #address-cells is reported where reg is decoded") {
        BlobBuilder b;
        b.begin("").prop("#address-cells", cells({3}));
        b.begin("memory").prop("device_type", "memory").prop("reg", cells({0, 0, 0, 1})).end().end();
        const Error e = error_of(b.finish());
        CHECK(e.code == ErrorCode::kBadCellCount);
        CHECK(e.detail == 3);
        CHECK(e.property == "reg");
    }
    SUBCASE("#size-cells of the wrong width") {
        BlobBuilder b;
        b.begin("").prop("#size-cells", std::vector<std::uint8_t>{0, 1});
        b.begin("memory").prop("device_type", "memory").prop("reg", cells({0, 0, 1})).end().end();
        CHECK(error_of(b.finish()).code == ErrorCode::kBadCellCount);
    }
}

TEST_CASE("very long node paths are cut in errors, not overflowed") {
    BlobBuilder b;
    const std::string name(100, 'q');
    b.begin("").begin(name).begin(name).token(0x99);
    const Error e = error_of(b.finish(false));
    CHECK(e.code == ErrorCode::kBadToken);
    CHECK(e.node.truncated);
    CHECK(e.node.view().size() == kMaxErrorPath);
    StringSink sink;
    e.format(sink);
    CHECK(sink.text.find("...)") != std::string::npos);
}
