// What the compilers and the freestanding parts of libstdc++ call without
// being asked, for every riscv64 program of this project (loader, kernels):
// memory and string primitives (-nostdlib leaves them undefined), the C++ ABI
// hooks a class with a virtual function or a static object with a destructor
// pulls in, and libstdc++'s out-of-range report.
//
// The program supplies one function, freestanding_fail(), which reports a
// message on its console and stops; everything here that cannot continue
// ends there.
//
// GCC must compile this file with -fno-tree-loop-distribute-patterns
// (common_freestanding_args in meson.build), or it turns the loops below into
// calls to the very functions they implement. clang does not: -ffreestanding
// implies -fno-builtin, which turns its loop-idiom pass off.

#include <cstddef>
#include <cstdint>

extern "C" {

// Defined by the program: print `message` and stop the machine.
[[noreturn]] void freestanding_fail(const char* message);

namespace {

// Word at a time when both ends allow it: the loader copies and clears
// structures of a hundred KiB, bytes would cost 8 times more.
bool word_aligned(const void* a, const void* b) {
    return ((reinterpret_cast<std::uintptr_t>(a) | reinterpret_cast<std::uintptr_t>(b)) & 7) == 0;
}

}  // namespace

// Both loops move sixteen words per iteration first, and count with an end
// pointer: one word per iteration costs 5 instructions per 8 bytes, and
// constructing the loader's 610 KiB Plan alone then took 350,000
// instructions (30% of the boot); eight words with an index cost 12 per 64
// bytes, sixteen with a pointer 18 per 128 (the planner zeroes the kernel's
// .bss and the page tables with memset: 7,000 instructions less per boot).
// memset goes to thirty-two, 34 per 256 (its offsets still fit compressed
// stores): the kernel's .bss is most of what a boot writes, 1,500
// instructions less for the test kernel's 136 KiB.
void* memcpy(void* destination, const void* source, std::size_t count) {
    auto* to = static_cast<unsigned char*>(destination);
    const auto* from = static_cast<const unsigned char*>(source);
    if (word_aligned(to, from)) {
        auto* words_to = reinterpret_cast<std::uint64_t*>(to);
        const auto* words_from = reinterpret_cast<const std::uint64_t*>(from);
        const std::uint64_t* const blocks_end = words_from + count / 128 * 16;
        for (; words_from != blocks_end; words_from += 16, words_to += 16) {
            const std::uint64_t w0 = words_from[0], w1 = words_from[1], w2 = words_from[2], w3 = words_from[3];
            const std::uint64_t w4 = words_from[4], w5 = words_from[5], w6 = words_from[6], w7 = words_from[7];
            const std::uint64_t w8 = words_from[8], w9 = words_from[9], w10 = words_from[10], w11 = words_from[11];
            const std::uint64_t w12 = words_from[12], w13 = words_from[13], w14 = words_from[14], w15 = words_from[15];
            words_to[0] = w0, words_to[1] = w1, words_to[2] = w2, words_to[3] = w3;
            words_to[4] = w4, words_to[5] = w5, words_to[6] = w6, words_to[7] = w7;
            words_to[8] = w8, words_to[9] = w9, words_to[10] = w10, words_to[11] = w11;
            words_to[12] = w12, words_to[13] = w13, words_to[14] = w14, words_to[15] = w15;
        }
        const std::uint64_t* const words_end = words_from + count % 128 / 8;
        while (words_from != words_end) *words_to++ = *words_from++;
        to = reinterpret_cast<unsigned char*>(words_to);
        from = reinterpret_cast<const unsigned char*>(words_from);
        count %= 8;
    }
    for (std::size_t i = 0; i < count; ++i) to[i] = from[i];
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
    if (word_aligned(to, to)) {
        const std::uint64_t word = byte * std::uint64_t{0x0101'0101'0101'0101};
        auto* words = reinterpret_cast<std::uint64_t*>(to);
        const std::uint64_t* const blocks_end = words + count / 256 * 32;
        for (; words != blocks_end; words += 32) {
            words[0] = word, words[1] = word, words[2] = word, words[3] = word;
            words[4] = word, words[5] = word, words[6] = word, words[7] = word;
            words[8] = word, words[9] = word, words[10] = word, words[11] = word;
            words[12] = word, words[13] = word, words[14] = word, words[15] = word;
            words[16] = word, words[17] = word, words[18] = word, words[19] = word;
            words[20] = word, words[21] = word, words[22] = word, words[23] = word;
            words[24] = word, words[25] = word, words[26] = word, words[27] = word;
            words[28] = word, words[29] = word, words[30] = word, words[31] = word;
        }
        const std::uint64_t* const words_end = words + count % 256 / 8;
        while (words != words_end) *words++ = word;
        to = reinterpret_cast<unsigned char*>(words);
        count %= 8;
    }
    for (std::size_t i = 0; i < count; ++i) to[i] = byte;
    return destination;
}

int memcmp(const void* left, const void* right, std::size_t count) {
    const auto* a = static_cast<const unsigned char*>(left);
    const auto* b = static_cast<const unsigned char*>(right);
    for (std::size_t i = 0; i < count; ++i)
        if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
    return 0;
}

void* memchr(const void* memory, int value, std::size_t count) {
    const auto* bytes = static_cast<const unsigned char*>(memory);
    for (std::size_t i = 0; i < count; ++i)
        if (bytes[i] == static_cast<unsigned char>(value)) return const_cast<unsigned char*>(bytes + i);
    return nullptr;
}

std::size_t strlen(const char* text) {
    std::size_t length = 0;
    while (text[length] != '\0') ++length;
    return length;
}

// A call through a pure virtual function: only a broken object gets here.
void __cxa_pure_virtual() { freestanding_fail("pure virtual function called"); }

// Static objects with destructors register them here; these programs never
// return to anything that would run them, so nothing is recorded.
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }
[[gnu::visibility("hidden")]] void* __dso_handle = nullptr;

}  // extern "C"

// A class with a virtual destructor references the deleting destructor, and
// that references operator delete even when nothing is ever heap-allocated.
// There is no heap, so reaching it is a bug.
void operator delete(void*) noexcept { freestanding_fail("operator delete called without a heap"); }
void operator delete(void*, std::size_t) noexcept { freestanding_fail("operator delete called without a heap"); }

// Without exceptions, a string_view or array access out of range is a bug.
namespace std {
[[noreturn]] void __throw_out_of_range_fmt(const char* format, ...) { freestanding_fail(format); }
}  // namespace std
