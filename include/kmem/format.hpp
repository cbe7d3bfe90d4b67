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
// through this one sink type and one out-of-line printer (print_args), so
// each format() member and each digit writer exists once in an image
// rather than once per sink type and per argument list (issue 13: that was
// most of the loader's size).
class SinkRef {
public:
    template <CharSink S>
        requires(!std::is_same_v<S, SinkRef>)
    constexpr explicit SinkRef(S& sink) : sink_(&sink), put_(&put_into<S>) {}
    void put(char c) { put_(sink_, c); }

private:
    template <class S>
    static void put_into(void* sink, char c) {
        static_cast<S*>(sink)->put(c);
    }
    void* sink_;
    void (*put_)(void*, char);
};

namespace format_detail {

// One print() argument, reduced to what print_args needs: a writer and up
// to two words for it (text: characters and length; integers and Hex: the
// value; objects: their address).
struct Arg {
    void (*write)(SinkRef&, const Arg&);
    union {
        const void* pointer;
        std::uint64_t value;
    };
    std::uint64_t extra;
};

inline void write_text(SinkRef& sink, const Arg& arg) {
    write(sink, std::string_view(static_cast<const char*>(arg.pointer), arg.extra));
}
inline void write_char(SinkRef& sink, const Arg& arg) { sink.put(static_cast<char>(arg.value)); }
inline void write_unsigned(SinkRef& sink, const Arg& arg) { write_dec(sink, arg.value); }
inline void write_int(SinkRef& sink, const Arg& arg) { write_signed(sink, static_cast<std::int64_t>(arg.value)); }
inline void write_hex_arg(SinkRef& sink, const Arg& arg) {
    write_hex(sink, arg.value, static_cast<int>(arg.extra));
}
inline void write_size_arg(SinkRef& sink, const Arg& arg) { write_size(sink, arg.value); }
template <class T>
void write_object(SinkRef& sink, const Arg& arg) {
    static_cast<const T*>(arg.pointer)->format(sink);
}

// The same choices as print_one, which the constant evaluator runs instead.
template <class T>
Arg make_arg(const T& argument) {
    Arg arg{};
    if constexpr (std::is_same_v<T, char>) {
        arg.write = &write_char;
        arg.value = static_cast<unsigned char>(argument);
    } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
        const std::string_view text(argument);
        arg.write = &write_text;
        arg.pointer = text.data();
        arg.extra = text.size();
    } else if constexpr (std::is_same_v<T, bool>) {
        static_assert(kNoFormat<T>, "print: say in words what a bool means");
    } else if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T>) {
        arg.write = &write_unsigned;
        arg.value = argument;
    } else if constexpr (std::is_integral_v<T>) {
        arg.write = &write_int;
        arg.value = static_cast<std::uint64_t>(static_cast<std::int64_t>(argument));
    } else if constexpr (std::is_same_v<T, Hex>) {
        arg.write = &write_hex_arg;
        arg.value = argument.value;
        arg.extra = static_cast<std::uint64_t>(argument.min_digits);
    } else if constexpr (std::is_same_v<T, Size>) {
        arg.write = &write_size_arg;
        arg.value = argument.bytes;
    } else if constexpr (requires(SinkRef& sink) { argument.format(sink); }) {
        arg.write = &write_object<T>;
        arg.pointer = &argument;
    } else {
        static_assert(kNoFormat<T>, "print: no way to format this argument (give it a format(sink) member)");
    }
    return arg;
}

[[gnu::noinline]] inline void print_args(SinkRef& sink, const Arg* args, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) args[i].write(sink, args[i]);
}

template <CharSink S, class... Arguments>
void print_erased(S& sink, const Arguments&... arguments) {
    const Arg args[] = {make_arg(arguments)...};
    if constexpr (std::is_same_v<S, SinkRef>) {
        print_args(sink, args, sizeof...(Arguments));
    } else {
        SinkRef erased(sink);
        print_args(erased, args, sizeof...(Arguments));
    }
}

}  // namespace format_detail

// print(out, "kernel at ", hex(entry), ", ", size(bytes), " in ", count, " pieces")
template <CharSink S, class... Arguments>
constexpr void print(S& sink, const Arguments&... arguments) {
    if constexpr (sizeof...(Arguments) > 0) {
        if (std::is_constant_evaluated()) {
            (print_one(sink, arguments), ...);
        } else {
            format_detail::print_erased(sink, arguments...);
        }
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
