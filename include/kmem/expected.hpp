#pragma once
// Error values for freestanding code: no exceptions on target, and an ignored
// result is a compile error ([[nodiscard]] + -Werror) rather than a silent bug.

#include <memory>
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

// What map_error(f) turns an error E into.
template <class E, class F>
using MappedError = std::remove_cvref_t<decltype(std::declval<F&>()(std::declval<const E&>()))>;

// One of the two is stored, in a union, and a copy copies only that one: a
// successful Result<void> of the device-tree reader is a flag, not a
// 300-byte Error to zero or copy at every matcher event (that had been a
// third of the loader's device-tree read). T and E must be trivially
// destructible, which every type on this project's error paths is
// (aggregates of integers, views and fixed arrays, page-table handles), so
// no destructor has to know which member lives; std::construct_at keeps the
// union usable in constant evaluation.
template <class T, class E>
class [[nodiscard]] Expected {
    static_assert(std::is_trivially_destructible_v<T> && std::is_trivially_destructible_v<E>);

public:
    using value_type = T;
    using error_type = E;

    constexpr Expected(const T& value) : value_(value), has_value_(true) {}
    constexpr Expected(T&& value) : value_(std::move(value)), has_value_(true) {}
    template <class G>
    constexpr Expected(Unexpected<G> error) : error_(std::move(error.error)), has_value_(false) {}
    constexpr Expected(const Expected& other) : has_value_(other.has_value_) { copy_from(other); }
    constexpr Expected(Expected&& other) : has_value_(other.has_value_) { move_from(other); }
    constexpr Expected& operator=(const Expected& other) {
        has_value_ = other.has_value_;
        copy_from(other);
        return *this;
    }
    constexpr Expected& operator=(Expected&& other) {
        has_value_ = other.has_value_;
        move_from(other);
        return *this;
    }

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

    // The error passed through f, the value kept (frigg's map_error): how a
    // caller wraps a nested error into its own without unwrapping by hand.
    template <class F>
    constexpr Expected<T, MappedError<E, F>> map_error(F&& f) const& {
        if (has_value_) return value_;
        return Unexpected<MappedError<E, F>>{f(error_)};
    }
    // For a move-only value such as a PageTable.
    template <class F>
    constexpr Expected<T, MappedError<E, F>> map_error(F&& f) && {
        if (has_value_) return std::move(value_);
        return Unexpected<MappedError<E, F>>{f(error_)};
    }

private:
    constexpr void copy_from(const Expected& other) {
        if (other.has_value_)
            std::construct_at(&value_, other.value_);
        else
            std::construct_at(&error_, other.error_);
    }
    constexpr void move_from(Expected& other) {
        if (other.has_value_)
            std::construct_at(&value_, std::move(other.value_));
        else
            std::construct_at(&error_, std::move(other.error_));
    }

    union {
        T value_;
        E error_;
    };
    bool has_value_;
};

template <class E>
class [[nodiscard]] Expected<void, E> {
    static_assert(std::is_trivially_destructible_v<E>);

public:
    using value_type = void;
    using error_type = E;

    constexpr Expected() : none_(0), has_value_(true) {}
    template <class G>
    constexpr Expected(Unexpected<G> error) : error_(std::move(error.error)), has_value_(false) {}
    constexpr Expected(const Expected& other) : has_value_(other.has_value_) { copy_from(other); }
    constexpr Expected& operator=(const Expected& other) {
        has_value_ = other.has_value_;
        copy_from(other);
        return *this;
    }

    constexpr bool has_value() const { return has_value_; }
    constexpr explicit operator bool() const { return has_value_; }
    constexpr void value() const { KMEM_ASSERT(has_value_); }

    // As Expected<T, E>::map_error.
    template <class F>
    constexpr Expected<void, MappedError<E, F>> map_error(F&& f) const {
        if (has_value_) return {};
        return Unexpected<MappedError<E, F>>{f(error_)};
    }

    constexpr const E& error() const {
        KMEM_ASSERT(!has_value_);
        return error_;
    }

private:
    constexpr void copy_from(const Expected& other) {
        if (other.has_value_)
            std::construct_at(&none_, '\0');
        else
            std::construct_at(&error_, other.error_);
    }

    union {
        char none_;  // an active member, so that a success copies in constant evaluation
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
