#include <doctest/doctest.h>

#include <cstdint>
#include <type_traits>

#include "kmem/expected.hpp"

namespace {

enum class Inner : std::uint8_t { Missing, Bad };

struct Outer {
    int code = 0;
    Inner cause = Inner::Missing;
};

constexpr auto wrap(int code) {
    return [code](Inner cause) { return Outer{code, cause}; };
}

constexpr kmem::Expected<std::uint64_t, Inner> parse(bool ok) {
    if (!ok) return kmem::unexpected(Inner::Bad);
    return std::uint64_t{42};
}

constexpr kmem::Expected<void, Inner> check(bool ok) {
    if (!ok) return kmem::unexpected(Inner::Missing);
    return {};
}

// In constant evaluation too: the planner's constexpr paths use it.
static_assert(parse(true).map_error(wrap(7)).value() == 42);
static_assert(parse(false).map_error(wrap(7)).error().code == 7);
static_assert(parse(false).map_error(wrap(7)).error().cause == Inner::Bad);
static_assert(check(true).map_error(wrap(3)).has_value());
static_assert(check(false).map_error(wrap(3)).error().cause == Inner::Missing);
static_assert(std::is_same_v<decltype(parse(true).map_error(wrap(1))), kmem::Expected<std::uint64_t, Outer>>);
static_assert(std::is_same_v<decltype(check(true).map_error(wrap(1))), kmem::Expected<void, Outer>>);

TEST_CASE("map_error keeps the value and does not call f") {
    int calls = 0;
    const auto mapped = parse(true).map_error([&](Inner cause) {
        ++calls;
        return Outer{1, cause};
    });
    REQUIRE(mapped.has_value());
    CHECK(*mapped == 42);
    CHECK(calls == 0);
}

TEST_CASE("map_error passes the error through f once") {
    int calls = 0;
    const auto mapped = parse(false).map_error([&](Inner cause) {
        ++calls;
        return Outer{9, cause};
    });
    REQUIRE(!mapped.has_value());
    CHECK(mapped.error().code == 9);
    CHECK(mapped.error().cause == Inner::Bad);
    CHECK(calls == 1);
}

TEST_CASE("map_error on Expected<void, E>") {
    CHECK(check(true).map_error(wrap(2)).has_value());
    const auto failed = check(false).map_error(wrap(2));
    REQUIRE(!failed.has_value());
    CHECK(failed.error().code == 2);
    CHECK(failed.error().cause == Inner::Missing);
}

// KMEM_TRY over a mapped result returns the outer error from the caller.
kmem::Expected<std::uint64_t, Outer> twice(bool ok) {
    const std::uint64_t value = KMEM_TRY(parse(ok).map_error(wrap(5)));
    return 2 * value;
}

TEST_CASE("map_error under KMEM_TRY") {
    CHECK(twice(true).value() == 84);
    REQUIRE(!twice(false).has_value());
    CHECK(twice(false).error().code == 5);
}

}  // namespace

namespace {

// A handle that may only move (as a PageTable does): map_error on an rvalue
// moves it out instead of copying.
struct MoveOnly {
    int id = 0;
    constexpr explicit MoveOnly(int value) : id(value) {}
    MoveOnly(const MoveOnly&) = delete;
    MoveOnly& operator=(const MoveOnly&) = delete;
    constexpr MoveOnly(MoveOnly&& other) : id(other.id) { other.id = -1; }
    constexpr MoveOnly& operator=(MoveOnly&& other) {
        id = other.id;
        other.id = -1;
        return *this;
    }
};

constexpr kmem::Expected<MoveOnly, Inner> open_handle(bool ok) {
    if (!ok) return kmem::unexpected(Inner::Bad);
    return MoveOnly(11);
}

}  // namespace

static_assert(open_handle(true).map_error(wrap(4)).value().id == 11);
static_assert(open_handle(false).map_error(wrap(4)).error().code == 4);

TEST_CASE("map_error moves a move-only value") {
    auto mapped = open_handle(true).map_error(wrap(4));
    REQUIRE(mapped.has_value());
    const MoveOnly handle = std::move(mapped).value();
    CHECK(handle.id == 11);
    const auto failed = open_handle(false).map_error(wrap(4));
    REQUIRE(!failed.has_value());
    CHECK(failed.error().cause == Inner::Bad);
}
