// What the compilers and the freestanding parts of libstdc++ call without
// being asked: memory and string primitives (-nostdlib leaves them undefined)
// and string_view's out-of-range report.
// meson.build compiles the loader with -fno-tree-loop-distribute-patterns
// (GCC) so that these loops are not turned back into calls to themselves.

#include <cstddef>
#include <cstdint>

#include "platform.hpp"

extern "C" {

namespace {

// Word at a time when both ends allow it: the loader copies and clears
// structures of a hundred KiB (MachineInfo), bytes would cost 8 times more.
bool word_aligned(const void* a, const void* b) {
    return ((reinterpret_cast<std::uintptr_t>(a) | reinterpret_cast<std::uintptr_t>(b)) & 7) == 0;
}

}  // namespace

void* memcpy(void* destination, const void* source, std::size_t count) {
    auto* to = static_cast<unsigned char*>(destination);
    const auto* from = static_cast<const unsigned char*>(source);
    std::size_t i = 0;
    if (word_aligned(to, from)) {
        for (; i + 8 <= count; i += 8)
            *reinterpret_cast<std::uint64_t*>(to + i) = *reinterpret_cast<const std::uint64_t*>(from + i);
    }
    for (; i < count; ++i) to[i] = from[i];
    return destination;
}

void* memmove(void* destination, const void* source, std::size_t count) {
    auto* to = static_cast<unsigned char*>(destination);
    const auto* from = static_cast<const unsigned char*>(source);
    if (to < from) {
        for (std::size_t i = 0; i < count; ++i) to[i] = from[i];
    } else {
        for (std::size_t i = count; i > 0; --i) to[i - 1] = from[i - 1];
    }
    return destination;
}

void* memset(void* destination, int value, std::size_t count) {
    auto* to = static_cast<unsigned char*>(destination);
    const auto byte = static_cast<unsigned char>(value);
    std::size_t i = 0;
    if (word_aligned(to, to)) {
        const std::uint64_t word = byte * std::uint64_t{0x0101'0101'0101'0101};
        for (; i + 8 <= count; i += 8) *reinterpret_cast<std::uint64_t*>(to + i) = word;
    }
    for (; i < count; ++i) to[i] = byte;
    return destination;
}

std::size_t strlen(const char* text) {
    std::size_t length = 0;
    while (text[length] != '\0') ++length;
    return length;
}

void* memchr(const void* memory, int value, std::size_t count) {
    const auto* bytes = static_cast<const unsigned char*>(memory);
    for (std::size_t i = 0; i < count; ++i)
        if (bytes[i] == static_cast<unsigned char>(value)) return const_cast<unsigned char*>(bytes + i);
    return nullptr;
}

int memcmp(const void* left, const void* right, std::size_t count) {
    const auto* a = static_cast<const unsigned char*>(left);
    const auto* b = static_cast<const unsigned char*>(right);
    for (std::size_t i = 0; i < count; ++i)
        if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
    return 0;
}

}

// Without exceptions, a string_view access out of range is a loader bug.
namespace std {
void __throw_out_of_range_fmt(const char* format, ...) {
    loader::fail_with([&](loader::Console& out) {
        kmem::write(out, "libstdc++: ");
        kmem::write(out, format);
    });
}
}  // namespace std
