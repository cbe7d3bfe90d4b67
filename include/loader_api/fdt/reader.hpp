#pragma once
// Flattened device tree (DTB) reader: a validated view over the bytes plus one
// structure walk that any number of matchers share (the Fuchsia lib/devicetree
// model). Nothing is copied or allocated: names and values are views into the
// caller's buffer, which must outlive everything read from it.
//
// Format: Devicetree Specification v0.4, chapter 5 (header, memory
// reservation block, structure block tokens, strings block). The errors
// are in fdt/errors.hpp. The header view, the cursor and the walk stay
// together (about 530 lines): the walk's fast paths (name cache, interest
// masks) depend on the cursor's and the view's internals.

#include <array>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <new>
#include <span>
#include <string_view>
#include <type_traits>

#include "kmem/expected.hpp"
#include "kmem/format.hpp"
#include "loader_api/fdt/errors.hpp"

namespace loader_api::fdt {

using Bytes = std::span<const std::uint8_t>;

inline constexpr std::uint32_t kMagic = 0xd00dfeed;
inline constexpr std::uint32_t kHeaderSize = 40;  // the v17 header: ten big-endian u32
// Oldest layout read (v16 lacks size_dt_struct, so its structure block is
// bounded by totalsize and FDT_END) and newest layout understood: a blob whose
// last_comp_version is above it may have changed incompatibly.
inline constexpr std::uint32_t kOldestVersion = 16;
inline constexpr std::uint32_t kNewestVersion = 17;
// Nodes nested deeper than this (the root is depth 0) are rejected: the walk
// keeps one fixed-size frame per open node. Real trees stay below 8.
inline constexpr std::uint32_t kMaxDepth = 32;

enum class Token : std::uint32_t {
    kBeginNode = 1,
    kEndNode = 2,
    kProp = 3,
    kNop = 4,
    kEnd = 9,
};

// Inlined: the walk reads three of these for every property.
[[gnu::always_inline]] constexpr std::uint32_t load_be32(Bytes bytes, std::size_t at) {
    KMEM_ASSERT(at + 4 <= bytes.size());
    return std::uint32_t{bytes[at]} << 24 | std::uint32_t{bytes[at + 1]} << 16 | std::uint32_t{bytes[at + 2]} << 8 |
           std::uint32_t{bytes[at + 3]};
}
constexpr std::uint64_t load_be64(Bytes bytes, std::size_t at) {
    return std::uint64_t{load_be32(bytes, at)} << 32 | load_be32(bytes, at + 4);
}

// A NUL-terminated string starting at `at`, or npos-length when no NUL
// follows inside `bytes`. Every name and string of the walk goes through
// here, so at run time it tests eight aligned bytes at once (a zero byte
// sets its high bit in (w - 0x01..01) & ~w & 0x80..80): node names and
// string values start 4-aligned and most are longer than a word.
constexpr std::size_t terminated_length(Bytes bytes, std::size_t at) {
    std::size_t i = at;
    if (!std::is_constant_evaluated()) {
        constexpr std::uint64_t kOnes = 0x0101010101010101, kHighs = 0x8080808080808080;
        while (i < bytes.size() && (reinterpret_cast<std::uintptr_t>(bytes.data() + i) & 7) != 0) {
            if (bytes[i] == 0) return i - at;
            ++i;
        }
        for (; bytes.size() - i >= 8; i += 8) {
            std::uint64_t word;
            __builtin_memcpy(&word, __builtin_assume_aligned(bytes.data() + i, 8), 8);
            if (((word - kOnes) & ~word & kHighs) != 0) break;  // the zero is among these eight
        }
    }
    for (; i < bytes.size(); ++i)
        if (bytes[i] == 0) return i - at;
    return static_cast<std::size_t>(-1);
}

// Names and strings are views of the blob's bytes as chars. The cast keeps
// this one function out of constant evaluation; the byte decoders stay
// constexpr.
inline std::string_view as_chars(Bytes bytes, std::size_t at, std::size_t length) {
    return {reinterpret_cast<const char*>(bytes.data() + at), length};
}

struct Header {
    std::uint32_t magic = 0;
    std::uint32_t totalsize = 0;
    std::uint32_t off_dt_struct = 0;
    std::uint32_t off_dt_strings = 0;
    std::uint32_t off_mem_rsvmap = 0;
    std::uint32_t version = 0;
    std::uint32_t last_comp_version = 0;
    std::uint32_t boot_cpuid_phys = 0;
    std::uint32_t size_dt_strings = 0;
    std::uint32_t size_dt_struct = 0;  // 0 in a v16 header: the block then ends at totalsize
};

struct MemReserveEntry {
    std::uint64_t address = 0;
    std::uint64_t size = 0;
};

// A validated blob: header checked, every block inside totalsize, the memory
// reservation map terminated. The structure block is checked by walk().
class Fdt {
public:
    constexpr Fdt() = default;

    static constexpr Result<Fdt> create(Bytes buffer) {
        if (buffer.size() < kHeaderSize) return fail(ErrorCode::kTruncatedHeader, 0, buffer.size());
        Header h;
        h.magic = load_be32(buffer, 0);
        h.totalsize = load_be32(buffer, 4);
        h.off_dt_struct = load_be32(buffer, 8);
        h.off_dt_strings = load_be32(buffer, 12);
        h.off_mem_rsvmap = load_be32(buffer, 16);
        h.version = load_be32(buffer, 20);
        h.last_comp_version = load_be32(buffer, 24);
        h.boot_cpuid_phys = load_be32(buffer, 28);
        h.size_dt_strings = load_be32(buffer, 32);
        h.size_dt_struct = load_be32(buffer, 36);
        if (h.magic != kMagic) return fail(ErrorCode::kBadMagic, 0, h.magic);
        if (h.version < kOldestVersion || h.last_comp_version > kNewestVersion ||
            h.last_comp_version > h.version)
            return fail(ErrorCode::kUnsupportedVersion, 20, h.version, h.last_comp_version);
        if (h.totalsize < kHeaderSize) return fail(ErrorCode::kTotalSizeTooSmall, 4, h.totalsize);
        if (h.totalsize > buffer.size())
            return fail(ErrorCode::kTotalSizeBeyondBuffer, 4, h.totalsize, buffer.size());
        if (h.version < 17) h.size_dt_struct = 0;

        Fdt fdt;
        fdt.header_ = h;
        fdt.blob_ = buffer.first(h.totalsize);

        // Blocks may sit anywhere after the header (dtc puts the map first),
        // but wholly inside totalsize; the map holds u64 pairs and the
        // structure block u32 tokens, hence their alignment.
        const auto check_block = [&](Block block, std::uint32_t offset, std::uint64_t size, std::uint32_t align,
                                     std::uint32_t field) -> Result<void> {
            if (offset < kHeaderSize || offset > h.totalsize || size > h.totalsize - offset)
                return kmem::unexpected(Error{.code = ErrorCode::kBlockOutOfBounds, .offset = field,
                                              .detail = offset, .detail2 = size, .block = block});
            if (offset % align != 0)
                return kmem::unexpected(
                    Error{.code = ErrorCode::kMisalignedBlock, .offset = field, .detail = offset, .block = block});
            return {};
        };
        const std::uint64_t struct_size =
            h.version >= 17 ? h.size_dt_struct : std::uint64_t{h.totalsize} - (h.off_dt_struct <= h.totalsize ? h.off_dt_struct : h.totalsize);
        KMEM_TRY(check_block(Block::kStructure, h.off_dt_struct, struct_size, 4, 8));
        KMEM_TRY(check_block(Block::kStrings, h.off_dt_strings, h.size_dt_strings, 1, 12));
        KMEM_TRY(check_block(Block::kMemReserve, h.off_mem_rsvmap, 0, 8, 16));
        fdt.structure_ = fdt.blob_.subspan(h.off_dt_struct, struct_size);
        fdt.strings_ = fdt.blob_.subspan(h.off_dt_strings, h.size_dt_strings);

        // The map ends at an entry of size 0; libfdt and Linux stop there too
        // (the specification asks for address 0 as well, which changes
        // nothing for a reader).
        std::uint32_t at = h.off_mem_rsvmap;
        for (;;) {
            if (h.totalsize - at < 16) return fail(ErrorCode::kMemReserveUnterminated, at);
            if (load_be64(fdt.blob_, at + 8) == 0) break;
            at += 16;
            ++fdt.reserve_count_;
        }
        return fdt;
    }

    constexpr const Header& header() const { return header_; }
    constexpr Bytes blob() const { return blob_; }
    constexpr std::uint32_t size() const { return header_.totalsize; }
    constexpr Bytes structure_block() const { return structure_; }
    constexpr Bytes strings_block() const { return strings_; }

    constexpr std::size_t mem_reserve_count() const { return reserve_count_; }
    constexpr MemReserveEntry mem_reserve(std::size_t index) const {
        KMEM_ASSERT(index < reserve_count_);
        const std::size_t at = header_.off_mem_rsvmap + index * 16;
        return {load_be64(blob_, at), load_be64(blob_, at + 8)};
    }

private:
    Header header_{};
    Bytes blob_{};
    Bytes structure_{};
    Bytes strings_{};
    std::size_t reserve_count_ = 0;
};

// #address-cells / #size-cells of a node, which apply to its children's reg.
struct CellCounts {
    std::uint32_t address = 2;  // DT spec defaults when the property is absent
    std::uint32_t size = 1;
};

// A name's length and three of its characters. Names that differ nearly
// always differ here too, so a matcher testing a property against several
// names compares one number with each and the characters with one at most.
constexpr std::uint32_t name_key(std::string_view name) {
    if (name.empty()) return 0;
    const auto byte = [&](std::size_t i) { return std::uint32_t{static_cast<unsigned char>(name[i])}; };
    const std::uint32_t length = name.size() < 0xff ? static_cast<std::uint32_t>(name.size()) : 0xff;
    return length << 24 | byte(0) << 16 | (name.size() > 1 ? byte(1) : 0) << 8 | byte(name.size() - 1);
}

// A property name a matcher looks for, keyed at compile time.
struct PropertyName {
    std::string_view text;
    std::uint32_t key;
    consteval PropertyName(const char* literal) : text(literal), key(name_key(text)) {}
};

struct Property {
    std::string_view name;
    Bytes value;
    std::uint32_t offset = 0;        // blob offset of the FDT_PROP token
    std::uint32_t key = name_key(name);  // the walk passes the one it keeps for each name

    // Inlined, so that each call compares with constants. Equal keys leave
    // the characters between the second and the last to compare.
    [[gnu::always_inline]] constexpr bool is(PropertyName wanted) const {
        if (key != wanted.key || name.size() != wanted.text.size()) return false;
        for (std::size_t i = 2; i + 1 < wanted.text.size(); ++i)
            if (name[i] != wanted.text[i]) return false;
        return true;
    }
};

// What a matcher wants of the node whose begin_node it answers (bit flags).
// A walk calls each matcher only for what it asked: most matchers care
// about a few nodes of the tree, and every call costs on every property.
enum class Interest : std::uint8_t {
    kNone = 0,        // nothing more of this node's subtree but its end_node
    kProperties = 1,  // its properties and end_properties, none of its subnodes
    kSubnodes = 2,    // begin_node for each of its subnodes, not its properties
    kAll = 3,         // both
};

// The open nodes during a walk, root first. Matchers read it; only walk()
// changes it.
class Cursor {
public:
    constexpr Cursor() {}
    struct Frame {
        std::string_view name{};
        std::uint32_t offset = 0;  // blob offset of the FDT_BEGIN_NODE token
        CellCounts cells{};        // this node's own #address-cells/#size-cells
        bool has_subnode = false;
        // One bit per matcher of the walk, by position: those that take this
        // node's properties, and those whose begin_node sees its subnodes.
        std::uint32_t listening = 0;
        std::uint32_t descending = 0;
    };

    // Root is depth 0.
    constexpr std::uint32_t depth() const { return count_ - 1; }
    constexpr std::string_view name() const { return frames_[count_ - 1].name; }
    constexpr std::string_view name_at(std::uint32_t depth) const {
        KMEM_ASSERT(depth < count_);
        return frames_[depth].name;
    }
    constexpr std::uint32_t offset() const { return frames_[count_ - 1].offset; }
    constexpr CellCounts cells() const { return frames_[count_ - 1].cells; }
    // The counts that decode this node's own reg: its parent's (defaults for the root).
    constexpr CellCounts parent_cells() const { return count_ >= 2 ? frames_[count_ - 2].cells : CellCounts{}; }
    // True for a direct child of the top-level node `parent`, e.g. /cpus/cpu@0.
    constexpr bool is_child_of_top(std::string_view parent) const {
        return count_ == 3 && same(frames_[1].name, parent);
    }
    constexpr bool is_top(std::string_view name) const { return count_ == 2 && same(frames_[1].name, name); }
    // The begin_node answer, at the root and at depth 1, of a matcher that
    // reads one top-level node (`top`, e.g. "chosen") or what is below it:
    // the root shows its subnodes, `top` gets `interest`, any other
    // top-level node nothing. Deeper nodes are the matcher's to answer.
    constexpr Interest top_level(std::string_view top, Interest interest) const {
        KMEM_ASSERT(count_ == 1 || count_ == 2);
        if (count_ == 1) return Interest::kSubnodes;
        return same(frames_[1].name, top) ? interest : Interest::kNone;
    }

    template <kmem::CharSink S>
    constexpr void write_path(S& sink) const {
        if (count_ <= 1) {
            if (count_ == 1) sink.put('/');
            return;
        }
        for (std::uint32_t i = 1; i < count_; ++i) {
            sink.put('/');
            kmem::print(sink, frames_[i].name);
        }
    }

private:
    template <class... M>
    friend constexpr Result<void> walk(const Fdt& fdt, M&... matchers);

    // string_view's == calls memcmp whenever the lengths agree; these
    // names are short and tested at every top-level node by several matchers.
    [[gnu::always_inline]] static constexpr bool same(std::string_view a, std::string_view b) {
        if (a.size() != b.size()) return false;
        for (std::size_t i = 0; i < a.size(); ++i)
            if (a[i] != b[i]) return false;
        return true;
    }

    std::uint32_t count_ = 0;  // first: the walk reaches it at a small offset
    // Left uninitialised: a frame is written when its node opens, before
    // anything reads it, and zeroing all of them cost as much as a node.
    union {
        std::array<Frame, kMaxDepth> frames_;
    };
};

namespace detail {

struct PathSink {
    ErrorPath* path;
    constexpr void put(char c) {
        const char text[1] = {c};
        path->append({text, 1});
    }
};

// Fill the node path of an error raised inside the walk.
constexpr Error located(Error error, const Cursor& cursor, bool has_node) {
    if (has_node && error.node.length == 0) {
        PathSink sink{&error.node};
        cursor.write_path(sink);
    }
    return error;
}

// The walk's own errors and those of its matchers, with the node path. Out
// of line and cold: inlined, each site kept an Error (224 bytes) in the
// walk's frame (11.7 KB of them), which pushed the hot variables out of
// reach of one instruction.
[[gnu::cold, gnu::noinline]] inline Result<void> walk_error(const Cursor& cursor, bool has_node, ErrorCode code,
                                                           std::uint32_t offset, std::uint64_t info = 0,
                                                           std::uint64_t info2 = 0, std::string_view property = {}) {
    return kmem::unexpected(located(
        Error{.code = code, .offset = offset, .detail = info, .detail2 = info2, .property = property}, cursor,
        has_node));
}
[[gnu::cold, gnu::noinline]] inline Result<void> matcher_error(const Error& error, const Cursor& cursor) {
    return kmem::unexpected(located(error, cursor, true));
}

// Where the hooks' results are built, one at a time: each in place, so
// that a success costs no copy and the frame holds one of them.
union HookResult {
    constexpr HookResult() {}
    Result<void> done;
    Result<Interest> interest;
};

// call(matcher, bit) for each matcher whose bit (1 << its position) is in
// `mask`, in order, until one returns false (its hook failed).
template <std::uint32_t kBit = 1, class Call, class M, class... Rest>
[[gnu::always_inline]] inline bool all_succeed(std::uint32_t mask, Call& call, M& matcher, Rest&... rest) {
    if ((mask & kBit) != 0 && !call(matcher, kBit)) return false;
    if constexpr (sizeof...(Rest) == 0) {
        return true;
    } else {
        return all_succeed<(kBit << 1)>(mask, call, rest...);
    }
}

// Token positions are below 2^32, so the rounded value fits 64 bits; callers
// compare it with the block size before narrowing.
constexpr std::uint64_t align4(std::uint64_t value) { return (value + 3) & ~std::uint64_t{3}; }

// A big-endian u32 as a native load reads it, and back (the same swap).
// The walk compares tokens in this form and swaps only the lengths and
// name offsets it needs as numbers: without Zbb a swap is a dozen
// instructions, and there are three words to a property.
constexpr std::uint32_t swap_be(std::uint32_t value) {
    if constexpr (std::endian::native == std::endian::big) return value;
    return value >> 24 | (value >> 8 & 0xff00) | (value << 8 & 0xff0000) | value << 24;
}
// Most property lengths are below 256: the one byte that counts is then the
// last one in memory.
constexpr std::uint32_t swap_be_length(std::uint32_t raw) {
    if constexpr (std::endian::native == std::endian::little)
        if ((raw & 0x00ffffff) == 0) return raw >> 24;
    return swap_be(raw);
}

// Names of properties by the raw (big-endian) name offset of their
// FDT_PROP: where each starts and ends in the strings block and its key. An
// entry holds the last name that hashed to it, and `tag` is the raw offset
// inverted, so that a zeroed entry matches none (a raw ~0 is never a valid
// offset). Only checked offsets enter, so a hit skips the checks too.
struct NameCache {
    static constexpr std::uint32_t kSize = 61;  // prime: names sit at irregular offsets
    struct Entry {
        std::uint32_t tag = 0;
        std::uint32_t offset = 0;
        std::uint32_t key = 0;
        std::uint32_t length = 0;
    };
    Entry entries[kSize]{};
};

}  // namespace detail

// A matcher has all of these members; an error stops the walk and is
// returned with the node path:
//   begin_node(const Cursor&) -> Result<Interest>           a node opens (no properties seen yet)
//   property(const Cursor&, const Property&) -> Result<void>
//                                    one property of the current node
//   end_properties(const Cursor&) -> Result<void>           the current node's properties are
//                                    complete (called before its first subnode opens)
//   end_node(const Cursor&) -> Result<void>                 the current node closes
// The root's begin_node is always called; another node's only when its
// parent's answer included kSubnodes; property and end_properties only when
// the node's own answer included kProperties; end_node whenever begin_node
// was called. All four hooks, as Fuchsia's devicetree::Match asks of its
// matchers: were a hook optional, a misspelled one would compile and never
// be called. (C++20 cannot list a class's members, so an extra, misspelled
// one beside the full set goes unnoticed; one instead of a hook does not.)
template <class M>
concept Matcher = requires(M& matcher, const Cursor& cursor, const Property& prop) {
    { matcher.begin_node(cursor) } -> std::same_as<Result<Interest>>;
    { matcher.property(cursor, prop) } -> std::same_as<Result<void>>;
    { matcher.end_properties(cursor) } -> std::same_as<Result<void>>;
    { matcher.end_node(cursor) } -> std::same_as<Result<void>>;
};

// One pass over the structure block; each matcher sees the events it asked
// for (see Matcher), matchers in the order given.
template <class... M>
constexpr Result<void> walk(const Fdt& fdt, M&... matchers) {
    static_assert((Matcher<M> && ...),
                  "an fdt::walk matcher has begin_node returning Result<Interest>, and property, end_properties "
                  "and end_node returning Result<void> (see fdt::Matcher)");
    static_assert(sizeof...(M) <= 32, "one bit per matcher in Cursor::Frame's masks");
    constexpr std::uint32_t kEveryMatcher = static_cast<std::uint32_t>((std::uint64_t{1} << sizeof...(M)) - 1);
    constexpr std::uint32_t kBeginNode = detail::swap_be(static_cast<std::uint32_t>(Token::kBeginNode));
    constexpr std::uint32_t kEndNode = detail::swap_be(static_cast<std::uint32_t>(Token::kEndNode));
    constexpr std::uint32_t kProp = detail::swap_be(static_cast<std::uint32_t>(Token::kProp));
    constexpr std::uint32_t kNop = detail::swap_be(static_cast<std::uint32_t>(Token::kNop));
    constexpr std::uint32_t kEnd = detail::swap_be(static_cast<std::uint32_t>(Token::kEnd));
    const Bytes block = fdt.structure_block();
    const Bytes strings = fdt.strings_block();
    const std::uint8_t* const data = block.data();
    const std::uint32_t base = fdt.header().off_dt_struct;
    const auto size = static_cast<std::uint32_t>(block.size());
    // Tokens sit 4-aligned in the block; the block is so in memory when the
    // blob is (the specification asks for 8), and then a word is one load.
    const bool aligned = (reinterpret_cast<std::uintptr_t>(data) & 3) == 0;
    // The hooks' result slot, the cursor and the name cache behind a
    // pointer the compiler cannot fold into the stack pointer: it keeps that
    // pointer in a register and reaches them with one instruction, where
    // offsets from sp past 2 KiB took three or four (the frame also holds
    // what the inlined matchers keep).
    struct State {
        detail::HookResult hook;
        Cursor cursor;
        detail::NameCache names{};
    };
    State state;
    State* reached = &state;
    asm("" : "+r"(reached));
    Cursor& cursor = reached->cursor;
    detail::NameCache& names = reached->names;
    detail::HookResult& hook = reached->hook;
    // The innermost open node's frame, valid while one is open: kept, not
    // recomputed from count_ for every token.
    Cursor::Frame* top = cursor.frames_.data();
    bool seen_root = false;
    std::uint32_t pos = 0;

    // The word at `at` as a native load reads it (see swap_be).
    auto raw_word = [&](std::uint32_t at) __attribute__((always_inline)) {
        std::uint32_t word;
        if (aligned)
            __builtin_memcpy(&word, __builtin_assume_aligned(data + at, 4), 4);
        else
            __builtin_memcpy(&word, data + at, 4);
        return word;
    };
    auto error_here = [&](ErrorCode code, std::uint32_t at, std::uint64_t info = 0, std::uint64_t info2 = 0,
                          std::string_view property = {}) __attribute__((always_inline)) {
        return detail::walk_error(cursor, cursor.count_ != 0, code, base + at, info, info2, property);
    };
    // Each hook's result is built in `hook` and read there; false when a hook failed.
    auto notify = [&](std::uint32_t mask, auto&& call) __attribute__((always_inline)) {
        return detail::all_succeed(mask, call, matchers...);
    };
    // The matchers whose begin_node saw the current node.
    auto opened = [&]() __attribute__((always_inline)) { return cursor.count_ >= 2 ? top[-1].descending : kEveryMatcher; };
    auto close_properties = [&]() __attribute__((always_inline)) {
        if (cursor.count_ == 0 || top->has_subnode) return true;
        top->has_subnode = true;
        return notify(top->listening, [&](auto& m, std::uint32_t) __attribute__((always_inline)) {
            ::new (static_cast<void*>(&hook.done)) Result<void>(m.end_properties(cursor));
            return hook.done.has_value();
        });
    };

    for (;;) {
        if (size - pos < 4) return error_here(ErrorCode::kTruncatedStructure, pos);
        const std::uint32_t token = raw_word(pos);
        // Properties first: they are most of the tokens.
        if (token == kProp) {
            if (cursor.count_ == 0) return error_here(ErrorCode::kPropertyOutsideNode, pos);
            if (size - pos < 12) return error_here(ErrorCode::kTruncatedStructure, pos);
            const std::uint32_t length = detail::swap_be_length(raw_word(pos + 4));
            const std::uint32_t raw_name = raw_word(pos + 8);
            if (length > size - pos - 12) return error_here(ErrorCode::kPropertyPastEnd, pos, length);
            // dtc shares one copy of each name, so the few names of a
            // tree come back at every node: remember where each ends.
            detail::NameCache::Entry& cached = names.entries[raw_name % detail::NameCache::kSize];
            if (cached.tag != ~raw_name) {
                const std::uint32_t name_offset = detail::swap_be(raw_name);
                if (name_offset >= strings.size())
                    return error_here(ErrorCode::kBadNameOffset, pos, name_offset, strings.size());
                const std::size_t name_length = terminated_length(strings, name_offset);
                if (name_length == static_cast<std::size_t>(-1))
                    return error_here(ErrorCode::kUnterminatedPropertyName, pos, name_offset);
                cached = {~raw_name, name_offset, name_key(as_chars(strings, name_offset, name_length)),
                          static_cast<std::uint32_t>(name_length)};
            }
            Cursor::Frame& frame = *top;
            if (frame.has_subnode)
                return error_here(ErrorCode::kPropertyAfterSubnode, pos, 0, 0,
                                  as_chars(strings, cached.offset, cached.length));
            // Nobody reads the counts or the properties of a node no
            // matcher listens to and whose subnodes none sees.
            if ((frame.listening | frame.descending) != 0) {
                const Property prop{.name = as_chars(strings, cached.offset, cached.length),
                                    .value = Bytes(data + pos + 12, length),
                                    .offset = base + pos,
                                    .key = cached.key};
                // Raw counts are kept; a count that cannot be decoded is
                // reported by whoever decodes a reg with it.
                if (prop.is("#address-cells"))
                    frame.cells.address = length == 4 ? load_be32(prop.value, 0) : ~std::uint32_t{0};
                else if (prop.is("#size-cells"))
                    frame.cells.size = length == 4 ? load_be32(prop.value, 0) : ~std::uint32_t{0};
                if (!notify(frame.listening, [&](auto& m, std::uint32_t) __attribute__((always_inline)) {
                        ::new (static_cast<void*>(&hook.done)) Result<void>(m.property(cursor, prop));
                        return hook.done.has_value();
                    }))
                    return detail::matcher_error(hook.done.error(), cursor);
            }
            const std::uint64_t next = detail::align4(std::uint64_t{pos} + 12 + length);
            // A final value may end the block unpadded; the next round
            // then reports the missing FDT_END.
            pos = next > size ? size : static_cast<std::uint32_t>(next);
            continue;
        }
        switch (token) {
            case kBeginNode: {
                const std::uint32_t name_at = pos + 4;
                const std::size_t length = terminated_length(block, name_at);
                if (length == static_cast<std::size_t>(-1))
                    return error_here(ErrorCode::kUnterminatedNodeName, pos);
                if (cursor.count_ == 0 && seen_root) return error_here(ErrorCode::kMultipleRoots, pos);
                if (cursor.count_ == kMaxDepth) return error_here(ErrorCode::kNestingTooDeep, pos, kMaxDepth);
                if (!close_properties()) return detail::matcher_error(hook.done.error(), cursor);
                top = &cursor.frames_[cursor.count_++];
                *top = Cursor::Frame{.name = as_chars(block, name_at, length), .offset = base + pos};
                seen_root = true;
                if (!notify(opened(), [&](auto& m, std::uint32_t bit) __attribute__((always_inline)) {
                        ::new (static_cast<void*>(&hook.interest)) Result<Interest>(m.begin_node(cursor));
                        if (!hook.interest) return false;
                        Cursor::Frame& frame = *top;
                        const auto flags = static_cast<std::uint32_t>(*hook.interest);
                        if ((flags & static_cast<std::uint32_t>(Interest::kProperties)) != 0) frame.listening |= bit;
                        if ((flags & static_cast<std::uint32_t>(Interest::kSubnodes)) != 0) frame.descending |= bit;
                        return true;
                    }))
                    return detail::matcher_error(hook.interest.error(), cursor);
                const std::uint64_t next = detail::align4(std::uint64_t{name_at} + length + 1);
                if (next > size) return error_here(ErrorCode::kTruncatedStructure, pos);
                pos = static_cast<std::uint32_t>(next);
                break;
            }
            case kEndNode: {
                if (cursor.count_ == 0) return error_here(ErrorCode::kUnbalancedEndNode, pos);
                if (!close_properties()) return detail::matcher_error(hook.done.error(), cursor);
                if (!notify(opened(), [&](auto& m, std::uint32_t) __attribute__((always_inline)) {
                        ::new (static_cast<void*>(&hook.done)) Result<void>(m.end_node(cursor));
                        return hook.done.has_value();
                    }))
                    return detail::matcher_error(hook.done.error(), cursor);
                if (--cursor.count_ != 0) --top;
                pos += 4;
                break;
            }
            case kNop:
                pos += 4;
                break;
            case kEnd:
                if (cursor.count_ != 0) return error_here(ErrorCode::kUnclosedNode, pos);
                if (!seen_root) return error_here(ErrorCode::kMissingRoot, pos);
                return {};
            default:
                return error_here(ErrorCode::kBadToken, pos, detail::swap_be(token));
        }
    }
}

}  // namespace loader_api::fdt
