#pragma once
// Text output without a C library: the loader's console, the kernels, error
// messages and host tools all write through a CharSink, so the same
// formatting code runs on host and target.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
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

// A message whose values are named where they are read:
//   "segment {index} p_align {value:hex} is not a power of two"
// An error type keeps one such text per code, the names of its fields and
// one writer that takes a field's position among them; each message is then
// one call where print() makes one per piece (issue 13: the error types'
// format() bodies were 12 KB of the loader). {name:hex} asks for hex.
// fields_known() lets a type check every text at compile time.
enum class FieldStyle : std::uint8_t { Plain, Hex };

namespace format_detail {

constexpr std::string_view kHexSuffix = ":hex";

struct Field {
    std::size_t open;   // '{', npos when the text has no more fields
    std::size_t close;  // '}', npos when unclosed
    std::size_t index;  // position among the names, npos when unknown
    FieldStyle style;
};

constexpr Field next_field(std::string_view text, std::size_t from, std::span<const std::string_view> names) {
    Field field{std::string_view::npos, std::string_view::npos, std::string_view::npos, FieldStyle::Plain};
    for (std::size_t i = from; i < text.size() && field.close == std::string_view::npos; ++i) {
        if (text[i] == '{' && field.open == std::string_view::npos) field.open = i;
        else if (text[i] == '}' && field.open != std::string_view::npos) field.close = i;
    }
    if (field.close == std::string_view::npos) return field;
    std::string_view name = text.substr(field.open + 1, field.close - field.open - 1);
    if (name.ends_with(kHexSuffix)) {
        name.remove_suffix(kHexSuffix.size());
        field.style = FieldStyle::Hex;
    }
    for (std::size_t i = 0; i < names.size(); ++i)
        if (names[i] == name) field.index = i;
    return field;
}

template <CharSink S, class WriteField>
constexpr void print_fields(S& sink, std::string_view text, std::span<const std::string_view> names,
                            const WriteField& write_field) {
    std::size_t from = 0;
    for (;;) {
        const Field field = next_field(text, from, names);
        write(sink, text.substr(from, field.open - from));
        if (field.close == std::string_view::npos) return;
        write_field(sink, field.index, field.style);
        from = field.close + 1;
    }
}

using FieldWriter = void (*)(SinkRef&, const void* context, std::size_t field, FieldStyle);

// One copy in an image for every error type.
[[gnu::noinline, gnu::cold]] inline void print_fields_erased(SinkRef& sink, std::string_view text,
                                                             std::span<const std::string_view> names,
                                                             FieldWriter writer, const void* context) {
    print_fields(sink, text, names,
                 [&](SinkRef& out, std::size_t field, FieldStyle style) { writer(out, context, field, style); });
}

}  // namespace format_detail

// write_field(sink, field, style) writes the value of names[field]. The type
// is the error type's own (`Self`), so that its writer at run time is one
// function taking `self` as a pointer.
template <CharSink S, class Self, class WriteField>
constexpr void print_fields(S& sink, std::string_view text, std::span<const std::string_view> names,
                            const Self& self, WriteField write_field) {
    static_assert(std::is_empty_v<WriteField>, "print_fields: the writer gets the error as `self`, captures nothing");
    if (std::is_constant_evaluated() || !std::is_base_of_v<SinkRef, S>) {
        format_detail::print_fields(sink, text, names,
                                    [&](S& out, std::size_t field, FieldStyle style) { write_field(out, self, field, style); });
    } else if constexpr (std::is_base_of_v<SinkRef, S>) {
        format_detail::print_fields_erased(
            static_cast<SinkRef&>(sink), text, names,
            [](SinkRef& out, const void* context, std::size_t field, FieldStyle style) {
                WriteField{}(out, *static_cast<const Self*>(context), field, style);
            },
            &self);
    }
}

// A number the way {name} or {name:hex} asks for it.
template <CharSink S>
constexpr void print_number(S& sink, std::uint64_t value, FieldStyle style) {
    if (style == FieldStyle::Hex) print(sink, hex(value));
    else print(sink, value);
}

// Whether every field of `text` is closed and one of `names`.
constexpr bool fields_known(std::string_view text, std::span<const std::string_view> names) {
    for (std::size_t from = 0;;) {
        const format_detail::Field field = format_detail::next_field(text, from, names);
        if (field.open == std::string_view::npos) return true;
        if (field.close == std::string_view::npos || field.index == std::string_view::npos) return false;
        from = field.close + 1;
    }
}

// The `index`th of the texts in `joined`, each ended by a NUL: one literal
// holds a type's messages with no pointer per message.
constexpr std::string_view nth_text(std::string_view joined, std::size_t index) {
    // Loops, not find(): GCC cannot evaluate find() over an array member
    // in a constant expression under the sanitizers.
    std::size_t begin = 0;
    for (; index > 0 && begin < joined.size(); ++begin) index -= joined[begin] == '\0';
    std::size_t end = begin;
    while (end < joined.size() && joined[end] != '\0') ++end;
    return joined.substr(begin, end - begin);
}

// How many NUL-ended texts `joined` holds.
constexpr std::size_t text_count(std::string_view joined) {
    std::size_t count = 0;
    for (char c : joined) count += c == '\0';
    return count;
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
