#pragma once
// Error values for freestanding code: no exceptions on target, and an ignored
// result is a compile error ([[nodiscard]] + -Werror) rather than a silent bug.

#include <type_traits>
#include <utility>

#include "kmem/assert.hpp"

namespace kmem {

template <class E>
struct Unexpected {
    E error;
};

template <class E>
constexpr Unexpected<std::decay_t<E>> unexpected(E&& error) {
    return {std::forward<E>(error)};
}

// The value is always stored, so T must be default-constructible; the simplicity
// keeps the type usable in constant evaluation on GCC 12. The error lives in
// a union and is constructed only on failure: error types carry node paths
// and names (the planner's PlanError is 584 bytes), and value-initialising
// one for every successful step cost a tenth of planning a machine. E must
// be trivially copyable and destructible, as every error type here is.
template <class T, class E>
class [[nodiscard]] Expected {
    static_assert(std::is_trivially_copyable_v<E> && std::is_trivially_destructible_v<E>);

public:
    using value_type = T;
    using error_type = E;

    constexpr Expected(const T& value) : value_(value), has_value_(true) {}
    constexpr Expected(T&& value) : value_(std::move(value)), has_value_(true) {}
    template <class G>
    constexpr Expected(Unexpected<G> error) : error_(std::move(error.error)), has_value_(false) {}

    constexpr bool has_value() const { return has_value_; }
    constexpr explicit operator bool() const { return has_value_; }

    constexpr T& value() & {
        KMEM_ASSERT(has_value_);
        return value_;
    }
    constexpr const T& value() const& {
        KMEM_ASSERT(has_value_);
        return value_;
    }
    constexpr T&& value() && {
        KMEM_ASSERT(has_value_);
        return std::move(value_);
    }
    constexpr T& operator*() & { return value(); }
    constexpr const T& operator*() const& { return value(); }
    constexpr T* operator->() { return &value(); }
    constexpr const T* operator->() const { return &value(); }

    constexpr const E& error() const {
        KMEM_ASSERT(!has_value_);
        return error_;
    }

    constexpr T value_or(T fallback) const { return has_value_ ? value_ : fallback; }

private:
    T value_{};
    union {
        E error_;
    };
    bool has_value_;
};

template <class E>
class [[nodiscard]] Expected<void, E> {
    static_assert(std::is_trivially_copyable_v<E> && std::is_trivially_destructible_v<E>);

public:
    using value_type = void;
    using error_type = E;

    constexpr Expected() : has_value_(true) {}
    template <class G>
    constexpr Expected(Unexpected<G> error) : error_(std::move(error.error)), has_value_(false) {}

    constexpr bool has_value() const { return has_value_; }
    constexpr explicit operator bool() const { return has_value_; }
    constexpr void value() const { KMEM_ASSERT(has_value_); }

    constexpr const E& error() const {
        KMEM_ASSERT(!has_value_);
        return error_;
    }

private:
    union {
        E error_;
    };
    bool has_value_;
};

}  // namespace kmem

// Propagates the error of an expression returning Expected, GCC/clang statement
// expression so that call sites stay flat; the value of the expression is the
// success value. Not for constexpr functions: GCC 12 crashes (ICE) when the
// early return happens during constant evaluation; write the check out there.
#define KMEM_TRY(...)                                                   \
    ({                                                                  \
        auto kmem_try_result_ = (__VA_ARGS__);                          \
        if (!kmem_try_result_) return ::kmem::unexpected(kmem_try_result_.error()); \
        std::move(kmem_try_result_).value();                            \
    })
