#pragma once
// 64-bit FNV-1a: small, constexpr and good enough to tell node paths and
// structure layouts apart (not for anything an adversary chooses). docs/protocol.md
// quotes the constants for the ABI fingerprint; tests/boot/qemu_boot.py has
// the same in Python.

#include <cstdint>

namespace kmem {

inline constexpr std::uint64_t kFnv1aBasis = 0xcbf29ce484222325;
inline constexpr std::uint64_t kFnv1aPrime = 0x100000001b3;

// The hash after one more byte.
constexpr std::uint64_t fnv1a(std::uint64_t hash, std::uint8_t byte) { return (hash ^ byte) * kFnv1aPrime; }

}  // namespace kmem
