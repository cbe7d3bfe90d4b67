#include "kmem/format.hpp"

#include <doctest/doctest.h>

#include <string>

namespace {

struct StringSink {
    std::string text;
    void put(char c) { text.push_back(c); }
};

struct Named {
    std::string_view name;
    template <kmem::CharSink S>
    constexpr void format(S& sink) const {
        kmem::print(sink, "<", name, ">");
    }
};

template <class... Arguments>
std::string printed(const Arguments&... arguments) {
    StringSink sink;
    kmem::print(sink, arguments...);
    return sink.text;
}

// What print() writes at compile time, into a fixed buffer.
template <std::size_t N, class... Arguments>
constexpr bool prints(std::string_view expected, const Arguments&... arguments) {
    char buffer[N] = {};
    kmem::BufferSink sink(buffer, N);
    kmem::print(sink, arguments...);
    return !sink.truncated() && sink.view() == expected;
}

}  // namespace

TEST_CASE("print writes each argument the way its type says") {
    CHECK(printed("kernel at ", kmem::hex(0xffffffff80000000), ", ", kmem::size(2 << 20), " in ", 3u, " pieces") ==
          "kernel at 0xffffffff80000000, 2 MiB in 3 pieces");
    CHECK(printed(std::uint64_t{0}, ' ', -5, ' ', std::int64_t{-9223372036854775807 - 1}) ==
          "0 -5 -9223372036854775808");
    CHECK(printed(kmem::hex(0x2a, 4), kmem::size(1536)) == "0x002a1536 B");
    CHECK(printed(std::string_view("view"), std::string("string"), Named{"error"}) == "viewstring<error>");
    CHECK(printed() == "");
}

TEST_CASE("print is constexpr") {
    static_assert(prints<32>("a 0x10 16 4 KiB", "a ", kmem::hex(16), ' ', 16u, ' ', kmem::size(4096)));
    static_assert(!prints<32>("a 0x11", "a ", kmem::hex(16)));
    static_assert(!prints<4>("12345", 12345u));  // truncated
}

namespace {

// An error type the way the library's write theirs: texts joined by NULs,
// field names, one writer that captures nothing.
struct Refusal {
    std::uint64_t offset = 0;
    std::uint64_t count = 0;
    std::string_view what{};

    static constexpr char kTextData[] = "no refusal\0{what} at {offset:hex}: {count} entries\0{count}{what}\0";
    static constexpr std::string_view kTexts{kTextData, sizeof kTextData - 1};
    static constexpr std::string_view kFields[] = {"offset", "count", "what"};

    template <kmem::CharSink S>
    constexpr void format(S& sink, std::size_t code) const {
        kmem::print_fields(sink, kmem::nth_text(kTexts, code), kFields, *this,
                           [](auto& out, const Refusal& self, std::size_t field, kmem::FieldStyle style) {
                               if (field == 0) kmem::print_number(out, self.offset, style);
                               if (field == 1) kmem::print_number(out, self.count, style);
                               if (field == 2) kmem::print(out, self.what);
                           });
    }
};

std::string refusal_text(const Refusal& refusal, std::size_t code, bool through_sink_ref) {
    StringSink sink;
    if (through_sink_ref) {
        kmem::SinkRef erased(sink);
        refusal.format(erased, code);
    } else {
        refusal.format(sink, code);
    }
    return sink.text;
}

constexpr bool refusal_prints(std::string_view expected, const Refusal& refusal, std::size_t code) {
    char buffer[64] = {};
    kmem::BufferSink sink(buffer, sizeof buffer);
    refusal.format(sink, code);
    return sink.view() == expected;
}

}  // namespace

TEST_CASE("print_fields writes each {field} through the type's writer, the same at run time and compile time") {
    const Refusal refusal{0x1f00, 12, "DT_RELA"};
    for (const bool erased : {false, true}) {
        CHECK(refusal_text(refusal, 0, erased) == "no refusal");
        CHECK(refusal_text(refusal, 1, erased) == "DT_RELA at 0x1f00: 12 entries");
        CHECK(refusal_text(refusal, 2, erased) == "12DT_RELA");
    }
    static_assert(refusal_prints("DT_REL at 0x10: 3 entries", Refusal{16, 3, "DT_REL"}, 1));
    static_assert(!refusal_prints("DT_REL at 16: 3 entries", Refusal{16, 3, "DT_REL"}, 1));
}

TEST_CASE("nth_text, text_count and fields_known read the joined texts") {
    static_assert(kmem::text_count(Refusal::kTexts) == 3);
    static_assert(kmem::nth_text(Refusal::kTexts, 0) == "no refusal");
    static_assert(kmem::nth_text(Refusal::kTexts, 2) == "{count}{what}");
    static_assert(kmem::nth_text(Refusal::kTexts, 3).empty());
    static_assert(kmem::fields_known("{what} at {offset:hex}", Refusal::kFields));
    static_assert(!kmem::fields_known("{what} at {address}", Refusal::kFields));  // unknown name
    static_assert(!kmem::fields_known("{what} at {offset", Refusal::kFields));    // unclosed
    static_assert(!kmem::fields_known("{count:dec}", Refusal::kFields));          // only :hex is a style
    CHECK(kmem::fields_known("plain text", Refusal::kFields));
}
