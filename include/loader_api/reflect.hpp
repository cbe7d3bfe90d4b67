#pragma once
// Field lists of the protocol types, written once, and everything derived
// from them: the human-readable form (loader log, example kernel), JSON (host
// tools) and the ABI fingerprint. Freestanding; only the Hana headers used
// (boost/hana.hpp would pull in <cstdio>).

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>

#include <boost/hana/accessors.hpp>
#include <boost/hana/adapt_struct.hpp>
#include <boost/hana/concept/struct.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/pair.hpp>
#include <boost/hana/string.hpp>

#include "kmem/fnv1a.hpp"
#include "kmem/format.hpp"
#include "loader_api/boot_info.hpp"
#include "loader_api/loader_config.hpp"

namespace loader_api::reflect {

// What Hana cannot give: where a member lives. One entry per field, in the
// order of the Hana field list (the same macro writes both).
struct FieldLayout {
    std::string_view name;
    std::size_t offset;
    std::size_t size;
};
template <class T>
struct Layout;

template <class T>
concept Reflected = boost::hana::Struct<T>::value && requires { Layout<T>::fields; };

}  // namespace loader_api::reflect

// A bounded preprocessor loop (C++20 __VA_OPT__): each LOADER_API_PP_EXPAND
// level rescans its argument, 4^4 = 256 rescans, more than any field list.
#define LOADER_API_PP_PARENS ()
#define LOADER_API_PP_EXPAND(...) LOADER_API_PP_EXPAND3(LOADER_API_PP_EXPAND3(LOADER_API_PP_EXPAND3(LOADER_API_PP_EXPAND3(__VA_ARGS__))))
#define LOADER_API_PP_EXPAND3(...) LOADER_API_PP_EXPAND2(LOADER_API_PP_EXPAND2(LOADER_API_PP_EXPAND2(LOADER_API_PP_EXPAND2(__VA_ARGS__))))
#define LOADER_API_PP_EXPAND2(...) LOADER_API_PP_EXPAND1(LOADER_API_PP_EXPAND1(LOADER_API_PP_EXPAND1(LOADER_API_PP_EXPAND1(__VA_ARGS__))))
#define LOADER_API_PP_EXPAND1(...) __VA_ARGS__
#define LOADER_API_PP_FOR_EACH(macro, type, ...) \
    __VA_OPT__(LOADER_API_PP_EXPAND(LOADER_API_PP_FOR_EACH_STEP(macro, type, __VA_ARGS__)))
#define LOADER_API_PP_FOR_EACH_STEP(macro, type, field, ...) \
    macro(type, field) __VA_OPT__(LOADER_API_PP_FOR_EACH_AGAIN LOADER_API_PP_PARENS(macro, type, __VA_ARGS__))
#define LOADER_API_PP_FOR_EACH_AGAIN() LOADER_API_PP_FOR_EACH_STEP
#define LOADER_API_PP_FIELD_LAYOUT(type, field) \
    ::loader_api::reflect::FieldLayout{#field, offsetof(type, field), sizeof(type::field)},

// At global scope: LOADER_API_REFLECT(ns::Type, field1, field2, ...) adapts
// the type to Hana and records every field's offset and size.
#define LOADER_API_REFLECT(type, ...)                                                          \
    BOOST_HANA_ADAPT_STRUCT(type, __VA_ARGS__);                                                \
    template <>                                                                                \
    struct loader_api::reflect::Layout<type> {                                                 \
        static constexpr ::loader_api::reflect::FieldLayout fields[] = {                       \
            LOADER_API_PP_FOR_EACH(LOADER_API_PP_FIELD_LAYOUT, type, __VA_ARGS__)};            \
    }

LOADER_API_REFLECT(loader_api::PhysRange, begin, end);
LOADER_API_REFLECT(loader_api::VirtRange, begin, end);
LOADER_API_REFLECT(loader_api::ArrayRef, offset, count);
LOADER_API_REFLECT(loader_api::BootInfoHeader, magic, version_major, version_minor, total_size, abi_fingerprint);
LOADER_API_REFLECT(loader_api::HartInfo, hart_id, state, sbi_error, stack, tls);
LOADER_API_REFLECT(loader_api::MemoryRegion, range, kind, reserved);
LOADER_API_REFLECT(loader_api::KernelSegment, virt, physical_begin, flags, reserved);
LOADER_API_REFLECT(loader_api::TlsTemplate, start, file_size, memory_size, alignment);
LOADER_API_REFLECT(loader_api::Timestamps, loader_entry_time, loader_entry_instret, handoff_time, handoff_instret);
LOADER_API_REFLECT(loader_api::BootInfo, header, boot_hart_id, harts, memory_regions, kernel_segments, command_line,
                   paging_mode, flags, root_table, physmap_offset, physmap, kernel_virtual, kaslr_slide, kernel_file,
                   tls_template, device_tree, initrd, random, timebase_frequency, timestamps, entropy_sources, reserved,
                   efi_system_table, efi_memory_map, efi_memory_descriptor_size, efi_memory_descriptor_version);
LOADER_API_REFLECT(loader_api::LoaderConfig, magic, version_major, version_minor, size, stack_size, min_paging_mode,
                   max_paging_mode, preferred_paging_mode, kaslr, start_harts, max_harts, allow_write_execute,
                   log_level);

namespace loader_api::reflect {

namespace hana = boost::hana;

template <class T, class Pair>
using MemberType = std::remove_cvref_t<decltype(hana::second(std::declval<Pair>())(std::declval<const T&>()))>;

// Calls visit(name, layout, member) for every field, in declaration order.
template <Reflected T, class Visit>
constexpr void for_each_field(const T& value, Visit&& visit) {
    std::size_t index = 0;
    hana::for_each(hana::accessors<T>(), [&](auto pair) {
        const FieldLayout& layout = Layout<T>::fields[index++];
        visit(layout, hana::second(pair)(value));
    });
}

// Same walk over types only, for the fingerprint.
template <Reflected T, class Visit>
constexpr void for_each_field_type(Visit&& visit) {
    std::size_t index = 0;
    hana::for_each(hana::accessors<T>(), [&](auto pair) {
        visit(Layout<T>::fields[index++], static_cast<MemberType<T, decltype(pair)>*>(nullptr));
    });
}

// --- ABI fingerprint: FNV-1a over (name, offset, size) of every field,
// recursively; a nested type is bracketed so that moving a field into or out
// of a nested struct changes the hash even when offsets stay.

constexpr std::uint64_t hash_byte(std::uint64_t hash, std::uint8_t byte) { return kmem::fnv1a(hash, byte); }
constexpr std::uint64_t hash_u64(std::uint64_t hash, std::uint64_t value) {
    for (int i = 0; i < 8; ++i) hash = hash_byte(hash, static_cast<std::uint8_t>(value >> (8 * i)));
    return hash;
}
constexpr std::uint64_t hash_text(std::uint64_t hash, std::string_view text) {
    for (char c : text) hash = hash_byte(hash, static_cast<std::uint8_t>(c));
    return hash_byte(hash, 0);
}

// `prefix_size`: only the fields that begin below it count (the part of a
// type that later minor versions only append to).
template <Reflected T>
constexpr std::uint64_t fingerprint(std::uint64_t hash = kmem::kFnv1aBasis, std::size_t prefix_size = sizeof(T)) {
    hash = hash_byte(hash, '{');
    for_each_field_type<T>([&]<class M>(const FieldLayout& layout, M*) {
        if (layout.offset >= prefix_size) return;
        hash = hash_text(hash, layout.name);
        hash = hash_u64(hash, layout.offset);
        hash = hash_u64(hash, layout.size);
        using Element = std::remove_all_extents_t<M>;
        if constexpr (Reflected<Element>) hash = fingerprint<Element>(hash);
    });
    return hash_byte(hash, '}');
}

// The block's 1.0 fields and the entry types of its arrays: what every 1.x
// kernel reads. Fields a minor version appends are left out, so the value
// stays that of 1.0 and an older kernel still accepts a newer block.
constexpr std::uint64_t abi_fingerprint() {
    std::uint64_t hash = fingerprint<BootInfo>(kmem::kFnv1aBasis, kBootInfoFixedSizeV1_0);
    hash = fingerprint<HartInfo>(hash);
    hash = fingerprint<MemoryRegion>(hash);
    hash = fingerprint<KernelSegment>(hash);
    return hash;
}

// A mismatch names both numbers in the compiler's instantiation message.
template <std::uint64_t Declared, std::uint64_t Computed>
struct AbiFingerprintCheck {
    static_assert(Declared == Computed,
                  "the layout of BootInfo changed: set kAbiFingerprint in boot_info.hpp to the Computed value (decimal) of "
                  "this instantiation and bump kBootInfoVersionMajor (docs/protocol.md, versioning)");
    static constexpr bool ok = true;
};
static_assert(AbiFingerprintCheck<kAbiFingerprint, abi_fingerprint()>::ok);

// --- Human-readable form: nested structs in braces, ranges as [begin, end),
// enums by name, byte arrays as hex.

template <class T>
concept RangeLike = std::is_same_v<T, PhysRange> || std::is_same_v<T, VirtRange>;

template <class T>
concept Named = std::is_enum_v<T> && requires(T value) {
    { to_string(value) } -> std::convertible_to<std::string_view>;
};

// Small numbers (counts, versions, ids) read better in decimal, addresses
// and masks in hex.
template <kmem::CharSink S>
constexpr void write_number(S& sink, std::uint64_t value) {
    if (value < 4096) kmem::write_dec(sink, value);
    else kmem::write_hex(sink, value);
}

template <kmem::CharSink S, class M>
constexpr void format_value(S& sink, const M& value);

template <kmem::CharSink S, Reflected T>
constexpr void format_fields(S& sink, const T& value) {
    sink.put('{');
    bool first = true;
    for_each_field(value, [&](const FieldLayout& layout, const auto& member) {
        if (!first) kmem::write(sink, ", ");
        first = false;
        kmem::print(sink, layout.name, ": ");
        format_value(sink, member);
    });
    sink.put('}');
}

template <kmem::CharSink S, class M>
constexpr void format_value(S& sink, const M& value) {
    if constexpr (RangeLike<M>) {
        sink.put('[');
        kmem::print(sink, kmem::hex(value.begin), ", ", kmem::hex(value.end));
        sink.put(')');
        if (value.begin <= value.end && !value.empty()) {
            sink.put(' ');
            kmem::print(sink, kmem::size(value.size()));
        }
    } else if constexpr (Reflected<M>) {
        format_fields(sink, value);
    } else if constexpr (Named<M>) {
        const std::string_view name = to_string(value);
        if (name == "?") kmem::write_dec(sink, static_cast<std::underlying_type_t<M>>(value));
        else kmem::write(sink, name);
    } else if constexpr (std::is_array_v<M> && std::is_same_v<std::remove_extent_t<M>, std::uint8_t>) {
        constexpr char kDigits[] = "0123456789abcdef";
        for (std::uint8_t byte : value) {
            sink.put(kDigits[byte >> 4]);
            sink.put(kDigits[byte & 0xf]);
        }
    } else if constexpr (std::is_array_v<M>) {
        sink.put('[');
        for (std::size_t i = 0; i < std::extent_v<M>; ++i) {
            if (i != 0) kmem::write(sink, ", ");
            format_value(sink, value[i]);
        }
        sink.put(']');
    } else if constexpr (std::is_signed_v<M>) {
        kmem::print(sink, value);
    } else {
        static_assert(std::is_unsigned_v<M>, "reflect: no formatting for this field type");
        write_number(sink, value);
    }
}

// Every field of the block on its own line, then the arrays it points to.
template <kmem::CharSink S>
void format_boot_info(S& sink, const BootInfo& info) {
    kmem::print(sink, "BootInfo\n");
    for_each_field(info, [&](const FieldLayout& layout, const auto& member) {
        kmem::print(sink, "  ", layout.name, ": ");
        format_value(sink, member);
        sink.put('\n');
    });
    const auto list = [&](std::string_view name, auto entries) {
        for (std::size_t i = 0; i < entries.size(); ++i) {
            kmem::print(sink, "  ", name);
            sink.put('[');
            kmem::print(sink, i, "]: ");
            format_value(sink, entries[i]);
            sink.put('\n');
        }
    };
    list("harts", info.hart_table());
    list("memory_regions", info.regions());
    list("kernel_segments", info.segments());
    kmem::print(sink, "  command_line: \"", info.cmdline(), "\"\n");
}

// --- JSON: objects for structs, numbers as exact decimal integers (64-bit
// values may exceed what a double holds; Python reads them exactly), enums
// by name.

template <kmem::CharSink S>
constexpr void write_json_string(S& sink, std::string_view text) {
    constexpr char kDigits[] = "0123456789abcdef";
    sink.put('"');
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            sink.put('\\');
            sink.put(c);
        } else if (byte < 0x20 || byte >= 0x7f) {
            // Bytes that are not printable ASCII: the command line is not
            // promised to be UTF-8, so each byte is escaped on its own.
            kmem::print(sink, "\\u00");
            sink.put(kDigits[byte >> 4]);
            sink.put(kDigits[byte & 0xf]);
        } else {
            sink.put(c);
        }
    }
    sink.put('"');
}

template <kmem::CharSink S, class M>
constexpr void write_json(S& sink, const M& value);

template <kmem::CharSink S, Reflected T>
constexpr void write_json_fields(S& sink, const T& value) {
    bool first = true;
    for_each_field(value, [&](const FieldLayout& layout, const auto& member) {
        if (!first) sink.put(',');
        first = false;
        write_json_string(sink, layout.name);
        sink.put(':');
        write_json(sink, member);
    });
}

template <kmem::CharSink S, class M>
constexpr void write_json(S& sink, const M& value) {
    if constexpr (Reflected<M>) {
        sink.put('{');
        write_json_fields(sink, value);
        sink.put('}');
    } else if constexpr (Named<M>) {
        write_json_string(sink, to_string(value));
    } else if constexpr (std::is_array_v<M>) {
        sink.put('[');
        for (std::size_t i = 0; i < std::extent_v<M>; ++i) {
            if (i != 0) sink.put(',');
            write_json(sink, value[i]);
        }
        sink.put(']');
    } else if constexpr (std::is_signed_v<M>) {
        kmem::print(sink, value);
    } else {
        static_assert(std::is_unsigned_v<M>, "reflect: no JSON for this field type");
        kmem::print(sink, value);
    }
}

// The block's fields plus its arrays under the names of their ArrayRef
// fields with "_entries" appended, and the command line as a string.
template <kmem::CharSink S>
void write_boot_info_json(S& sink, const BootInfo& info) {
    sink.put('{');
    write_json_fields(sink, info);
    const auto list = [&](std::string_view name, auto entries) {
        sink.put(',');
        write_json_string(sink, name);
        kmem::print(sink, ":[");
        for (std::size_t i = 0; i < entries.size(); ++i) {
            if (i != 0) sink.put(',');
            write_json(sink, entries[i]);
        }
        sink.put(']');
    };
    list("harts_entries", info.hart_table());
    list("memory_regions_entries", info.regions());
    list("kernel_segments_entries", info.segments());
    kmem::print(sink, ",\"command_line_text\":");
    write_json_string(sink, info.cmdline());
    sink.put('}');
}

}  // namespace loader_api::reflect
