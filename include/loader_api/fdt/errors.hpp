#pragma once
// What the device-tree reader reports: one Error with a code, the byte offset
// in the blob, the block, the limit hit, the property and the node path, and
// its one-line format(). Apart from the reader so that code that only
// reports errors (the planner's PlanError) does not pull in the walk.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kmem/expected.hpp"
#include "kmem/format.hpp"

namespace loader_api::fdt {

// Longest node path an error message carries before it is cut with "...".
inline constexpr std::size_t kMaxErrorPath = 160;

enum class ErrorCode : std::uint8_t {
    kNone,
    // header and blocks
    kTruncatedHeader,        // detail: buffer size
    kBadMagic,               // detail: magic found
    kUnsupportedVersion,     // detail: version, detail2: last_comp_version
    kTotalSizeTooSmall,      // detail: totalsize
    kTotalSizeBeyondBuffer,  // detail: totalsize, detail2: buffer size
    kBlockOutOfBounds,       // block: which; detail: block offset, detail2: block size
    kMisalignedBlock,        // block: which; detail: block offset
    kMemReserveUnterminated, // offset: where the next entry would not fit
    // structure block
    kTruncatedStructure,     // a token or its header runs past the block
    kBadToken,               // detail: token value
    kUnterminatedNodeName,
    kPropertyPastEnd,        // detail: value length
    kBadNameOffset,          // detail: nameoff, detail2: strings block size
    kUnterminatedPropertyName,
    kNestingTooDeep,         // detail: kMaxDepth
    kUnbalancedEndNode,
    kPropertyOutsideNode,
    kPropertyAfterSubnode,
    kMultipleRoots,
    kMissingRoot,
    kUnclosedNode,           // FDT_END inside an open node
    // property decoding
    kBadPropertySize,        // detail: length found
    kUnterminatedString,
    kBadCellCount,           // detail: #address-cells, detail2: #size-cells
    kAddressOverflow,        // detail: address, detail2: size
    kMissingProperty,
    // machine description
    kLimitExceeded,          // limit: which; detail: the limit
    kDuplicateHartId,        // detail: hart id
    kIncompleteInitrd,       // only one of linux,initrd-start/-end
    kInitrdEndBeforeStart,   // detail: start, detail2: end
};

enum class Block : std::uint8_t { kNone, kStructure, kStrings, kMemReserve };

// Which fixed capacity of the reader or of MachineInfo ran out.
enum class Limit : std::uint8_t { kNone, kMemoryRanges, kReservedRanges, kDynamicReservations, kHarts };

// A node path held by value so that an error outlives the walk that made it.
struct ErrorPath {
    std::array<char, kMaxErrorPath> chars{};
    std::size_t length = 0;
    bool truncated = false;

    constexpr void append(std::string_view text) {
        for (char c : text) {
            if (length == chars.size()) {
                truncated = true;
                return;
            }
            chars[length++] = c;
        }
    }
    constexpr std::string_view view() const { return {chars.data(), length}; }
};

constexpr std::string_view describe(ErrorCode code) {
    switch (code) {
        case ErrorCode::kNone: return "no error";
        case ErrorCode::kTruncatedHeader: return "buffer too small for the header";
        case ErrorCode::kBadMagic: return "bad magic";
        case ErrorCode::kUnsupportedVersion: return "unsupported version";
        case ErrorCode::kTotalSizeTooSmall: return "totalsize smaller than the header";
        case ErrorCode::kTotalSizeBeyondBuffer: return "totalsize larger than the buffer";
        case ErrorCode::kBlockOutOfBounds: return "block outside the blob";
        case ErrorCode::kMisalignedBlock: return "misaligned block";
        case ErrorCode::kMemReserveUnterminated: return "memory reservation block runs past the blob";
        case ErrorCode::kTruncatedStructure: return "structure block ends inside a token";
        case ErrorCode::kBadToken: return "bad token";
        case ErrorCode::kUnterminatedNodeName: return "unterminated node name";
        case ErrorCode::kPropertyPastEnd: return "property value runs past the structure block";
        case ErrorCode::kBadNameOffset: return "property name offset outside the strings block";
        case ErrorCode::kUnterminatedPropertyName: return "unterminated property name in the strings block";
        case ErrorCode::kNestingTooDeep: return "nodes nested too deep";
        case ErrorCode::kUnbalancedEndNode: return "FDT_END_NODE without an open node";
        case ErrorCode::kPropertyOutsideNode: return "property outside any node";
        case ErrorCode::kPropertyAfterSubnode: return "property after a subnode";
        case ErrorCode::kMultipleRoots: return "second root node";
        case ErrorCode::kMissingRoot: return "no root node";
        case ErrorCode::kUnclosedNode: return "FDT_END inside an open node";
        case ErrorCode::kBadPropertySize: return "property has the wrong size";
        case ErrorCode::kUnterminatedString: return "string property not NUL-terminated";
        case ErrorCode::kBadCellCount: return "unsupported #address-cells/#size-cells";
        case ErrorCode::kAddressOverflow: return "address + size overflows 64 bits";
        case ErrorCode::kMissingProperty: return "required property missing";
        case ErrorCode::kLimitExceeded: return "fixed capacity exceeded";
        case ErrorCode::kDuplicateHartId: return "duplicate hart id";
        case ErrorCode::kIncompleteInitrd: return "only one of linux,initrd-start and linux,initrd-end";
        case ErrorCode::kInitrdEndBeforeStart: return "initrd ends before it starts (linux,initrd-start, linux,initrd-end)";
    }
    return "unknown error";
}

constexpr std::string_view describe(Block block) {
    switch (block) {
        case Block::kNone: return "";
        case Block::kStructure: return "structure";
        case Block::kStrings: return "strings";
        case Block::kMemReserve: return "memory reservation";
    }
    return "?";
}

constexpr std::string_view describe(Limit limit) {
    switch (limit) {
        case Limit::kNone: return "";
        case Limit::kMemoryRanges: return "kMaxMemoryRanges";
        case Limit::kReservedRanges: return "kMaxReservedRanges";
        case Limit::kDynamicReservations: return "kMaxDynamicReservations";
        case Limit::kHarts: return "kMaxHarts";
    }
    return "?";
}

struct Error {
    ErrorCode code = ErrorCode::kNone;
    std::uint32_t offset = 0;  // byte offset in the blob where the problem is
    std::uint64_t detail = 0;  // meaning per code, see ErrorCode
    std::uint64_t detail2 = 0;
    Block block = Block::kNone;
    Limit limit = Limit::kNone;
    std::string_view property{};  // view into the blob; empty when not about a property
    ErrorPath node{};             // empty before the structure walk

    template <kmem::CharSink S>
    constexpr void format(S& sink) const {
        kmem::print(sink, "fdt: ", describe(code));
        if (block != Block::kNone) {
            kmem::print(sink, " (", describe(block), " block)");
        }
        if (limit != Limit::kNone) {
            kmem::print(sink, ": ", describe(limit), " = ", detail);
        } else if (code == ErrorCode::kNestingTooDeep) {
            kmem::print(sink, ": limit ", detail);
        } else if (detail != 0 || detail2 != 0) {
            kmem::print(sink, ": ", kmem::hex(detail));
            if (detail2 != 0) {
                kmem::print(sink, ", ", kmem::hex(detail2));
            }
        }
        if (!property.empty()) {
            kmem::print(sink, " in property \"", property);
            sink.put('"');
        }
        kmem::print(sink, " at offset ", kmem::hex(offset));
        if (node.length != 0) {
            kmem::print(sink, " (node ", node.view());
            if (node.truncated) kmem::write(sink, "...");
            sink.put(')');
        }
    }
};

template <class T>
using Result = kmem::Expected<T, Error>;

constexpr kmem::Unexpected<Error> fail(ErrorCode code, std::uint32_t offset, std::uint64_t detail = 0,
                                       std::uint64_t detail2 = 0) {
    return kmem::unexpected(Error{.code = code, .offset = offset, .detail = detail, .detail2 = detail2});
}

}  // namespace loader_api::fdt
