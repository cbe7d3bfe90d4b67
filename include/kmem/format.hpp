#pragma once
// Text output without a C library: the loader's console, the kernels, error
// messages and host tools all write through a CharSink, so the same
// formatting code runs on host and target.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>

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
