#pragma once
// Text output without a C library: the loader's console, the kernels, error
// messages and host tools all write through a CharSink, so the same
// formatting code runs on host and target.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace kmem {

template <class S>
concept CharSink = requires(S& sink, char c) { sink.put(c); };

template <CharSink S>
constexpr void write(S& sink, std::string_view text) {
    for (char c : text) sink.put(c);
}

template <CharSink S>
constexpr void write_dec(S& sink, std::uint64_t value) {
    char digits[20];
    int count = 0;
    do {
        digits[count++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value != 0);
    while (count > 0) sink.put(digits[--count]);
}

template <CharSink S>
constexpr void write_signed(S& sink, std::int64_t value) {
    if (value < 0) {
        sink.put('-');
        write_dec(sink, ~static_cast<std::uint64_t>(value) + 1);
    } else {
        write_dec(sink, static_cast<std::uint64_t>(value));
    }
}

// 0x-prefixed, no leading zeros unless `min_digits` asks for them.
template <CharSink S>
constexpr void write_hex(S& sink, std::uint64_t value, int min_digits = 1) {
    constexpr char kDigits[] = "0123456789abcdef";
    sink.put('0');
    sink.put('x');
    int digits = 16;
    while (digits > min_digits && ((value >> ((digits - 1) * 4)) & 0xf) == 0) --digits;
    while (digits > 0) sink.put(kDigits[(value >> (--digits * 4)) & 0xf]);
}

// Sizes as people read them: exact multiples print as "2 MiB", others in bytes.
template <CharSink S>
constexpr void write_size(S& sink, std::uint64_t bytes) {
    constexpr std::string_view kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int unit = 0;
    while (unit < 5 && bytes != 0 && (bytes & 1023) == 0) {
        bytes >>= 10;
        ++unit;
    }
    write_dec(sink, bytes);
    sink.put(' ');
    write(sink, kUnits[unit]);
}

// Formatting objects for print(): a message is one call, and each argument
// says how it is shown where it appears (frigg's format_object model).
struct Hex {
    std::uint64_t value;
    int min_digits = 1;
    template <CharSink S>
    constexpr void format(S& sink) const { write_hex(sink, value, min_digits); }
};
struct Size {
    std::uint64_t bytes;
    template <CharSink S>
    constexpr void format(S& sink) const { write_size(sink, bytes); }
};
constexpr Hex hex(std::uint64_t value, int min_digits = 1) { return {value, min_digits}; }
constexpr Size size(std::uint64_t bytes) { return {bytes}; }

template <class T>
inline constexpr bool kNoFormat = false;

// One argument: text as it is, a character, an integer in decimal, anything
// with a format(sink) member (Hex, Size, every error type) through it. A
// bool is refused: whether it should read "yes", "1" or "enabled" is the
// message's decision.
template <CharSink S, class T>
constexpr void print_one(S& sink, const T& argument) {
    if constexpr (std::is_same_v<T, char>) {
        sink.put(argument);
    } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
        write(sink, std::string_view(argument));
    } else if constexpr (std::is_same_v<T, bool>) {
        static_assert(kNoFormat<T>, "print: say in words what a bool means");
    } else if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T>) {
        write_dec(sink, argument);
    } else if constexpr (std::is_integral_v<T>) {
        write_signed(sink, argument);
    } else if constexpr (requires { argument.format(sink); }) {
        argument.format(sink);
    } else {
        static_assert(kNoFormat<T>, "print: no way to format this argument (give it a format(sink) member)");
    }
}

// Any sink behind a function pointer. At run time every message goes
// through this one sink type, so each format() member and each digit writer
// exists once in an image rather than once per sink type, and each
// argument of a message is one call (issue 13: formatting was most of the
// loader's size). A sink may derive from SinkRef to spare every print()
// the wrapping.
// An error type's format() may be [[gnu::cold]]: only a failed boot runs
// it, and GCC then builds it for size. That shrinks PageTableError's,
// AllocError's and fdt::Error's; it makes ValidationError's, ElfError's and
// PlanError's larger (helpers no longer inlined get out-of-line copies, each
// of PlanError's payload lambdas becomes a function), so those are not.
class SinkRef {
public:
    template <CharSink S>
        requires(!std::is_base_of_v<SinkRef, S>)
    constexpr explicit SinkRef(S& sink) : sink_(&sink), put_(&put_into<S>) {}
    void put(char c) { put_(sink_, c); }

protected:
    template <class S>
    static void put_into(void* sink, char c) {
        static_cast<S*>(sink)->put(c);
    }
    constexpr SinkRef(void* sink, void (*put)(void*, char)) : sink_(sink), put_(put) {}

private:
    void* sink_;
    void (*put_)(void*, char);
};

namespace format_detail {

[[gnu::noinline]] inline void print_text(SinkRef& sink, const char* text, std::size_t size) {
    write(sink, std::string_view(text, size));
}
[[gnu::noinline]] inline void print_unsigned(SinkRef& sink, std::uint64_t value) { write_dec(sink, value); }
[[gnu::noinline]] inline void print_signed(SinkRef& sink, std::int64_t value) { write_signed(sink, value); }
[[gnu::noinline]] inline void print_hex(SinkRef& sink, std::uint64_t value, int min_digits) {
    write_hex(sink, value, min_digits);
}
[[gnu::noinline]] inline void print_size(SinkRef& sink, std::uint64_t bytes) { write_size(sink, bytes); }

// The arguments print_one would write with an inlined digit loop go to the
// writers above instead; the rest (characters, format() members, refusals)
// are print_one's.
template <class T>
[[gnu::always_inline]] inline void print_erased(SinkRef& sink, const T& argument) {
    constexpr bool kNumber = std::is_integral_v<T> && !std::is_same_v<T, char> && !std::is_same_v<T, bool>;
    if constexpr (std::is_convertible_v<const T&, std::string_view>) {
        const std::string_view text(argument);
        print_text(sink, text.data(), text.size());
    } else if constexpr (kNumber && std::is_unsigned_v<T>) {
        print_unsigned(sink, argument);
    } else if constexpr (kNumber) {
        print_signed(sink, argument);
    } else if constexpr (std::is_same_v<T, Hex>) {
        print_hex(sink, argument.value, argument.min_digits);
    } else if constexpr (std::is_same_v<T, Size>) {
        print_size(sink, argument.bytes);
    } else {
        print_one(sink, argument);
    }
}

}  // namespace format_detail

// print(out, "kernel at ", hex(entry), ", ", size(bytes), " in ", count, " pieces")
template <CharSink S, class... Arguments>
[[gnu::always_inline]] constexpr void print(S& sink, const Arguments&... arguments) {
    if (std::is_constant_evaluated()) {
        (print_one(sink, arguments), ...);
    } else if constexpr (std::is_base_of_v<SinkRef, S>) {
        (format_detail::print_erased(static_cast<SinkRef&>(sink), arguments), ...);
    } else if constexpr (sizeof...(Arguments) > 0) {
        SinkRef erased(sink);
        (format_detail::print_erased(erased, arguments), ...);
    }
}

// A sink into a caller-provided buffer; truncates (and says so) rather than overflows.
class BufferSink {
public:
    constexpr BufferSink(char* buffer, std::size_t capacity) : buffer_(buffer), capacity_(capacity) {}
    constexpr void put(char c) {
        if (length_ < capacity_) buffer_[length_] = c;
        ++length_;
    }
    constexpr bool truncated() const { return length_ > capacity_; }
    constexpr std::string_view view() const { return {buffer_, truncated() ? capacity_ : length_}; }

private:
    char* buffer_;
    std::size_t capacity_;
    std::size_t length_ = 0;
};

}  // namespace kmem
