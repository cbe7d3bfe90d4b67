#pragma once
// Physical memory byte by byte, for the planner, over PhysicalMemory's
// whole frames: copying the kernel, zeroing .bss, writing the BootInfo.

#include <cstddef>
#include <cstdint>
#include <span>

#include "loader_api/plan/common.hpp"

namespace loader_api {

namespace plan_detail {

template <PhysicalMemory P>
std::byte* frame_bytes(P& memory, std::uint64_t page) {
    return reinterpret_cast<std::byte*>(memory.frame(PhysicalAddress(page)));
}

// Calls f(bytes, done, chunk) for each piece of [at, at + size) that lies in
// one frame: `bytes` points at the piece, `done` is its offset from `at`.
// Physical memory is reached frame by frame (SimulatedMemory keeps frames
// apart; on target the identity map makes this one piece per page).
template <PhysicalMemory P, class F>
void for_each_frame_piece(P& memory, std::uint64_t at, std::uint64_t size, F&& f) {
    for (std::uint64_t done = 0; done < size;) {
        const std::uint64_t address = at + done;
        const std::uint64_t page = kmem::align_down(address, k4K);
        const std::uint64_t offset = address - page;
        std::uint64_t chunk = k4K - offset;
        if (chunk > size - done) chunk = size - done;
        f(frame_bytes(memory, page) + offset, static_cast<std::size_t>(done), static_cast<std::size_t>(chunk));
        done += chunk;
    }
}

template <PhysicalMemory P>
void write_physical(P& memory, PhysicalAddress at, std::span<const std::byte> bytes) {
    for_each_frame_piece(memory, at.value(), bytes.size(), [&](std::byte* piece, std::size_t done, std::size_t chunk) {
        __builtin_memcpy(piece, bytes.data() + done, chunk);
    });
}

template <PhysicalMemory P>
void read_physical(P& memory, PhysicalAddress at, std::span<std::byte> out) {
    for_each_frame_piece(memory, at.value(), out.size(), [&](std::byte* piece, std::size_t done, std::size_t chunk) {
        __builtin_memcpy(out.data() + done, piece, chunk);
    });
}

template <PhysicalMemory P>
void zero_physical(P& memory, PhysicalRange range) {
    for_each_frame_piece(memory, range.begin().value(), range.size(), [](std::byte* piece, std::size_t, std::size_t chunk) {
        // Most pieces are whole frames (.bss, TLS); a constant size lets the
        // compiler pick its best sequence (x86-64: rep stosq, where glibc's
        // memset does rep stosb, 4096 steps under callgrind).
        if (chunk == k4K) {
            __builtin_memset(piece, 0, k4K);
        } else {
            __builtin_memset(piece, 0, chunk);
        }
    });
}

}  // namespace plan_detail

}  // namespace loader_api
