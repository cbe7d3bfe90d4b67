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
