#pragma once
// Host only: a sparse simulated physical memory for the planner and its
// tests (and the loader-plan tool). Pages come into being when first
// touched, filled with a poison byte, so a test can tell memory the planner
// wrote (or zeroed) from memory it never touched.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "kmem/address.hpp"
#include "kmem/assert.hpp"

namespace loader_api::host {

class SimulatedMemory {
public:
    static constexpr std::uint8_t kDefaultPoison = 0xa5;

    explicit SimulatedMemory(std::uint8_t poison = kDefaultPoison) : poison_(poison) {}

    // The planner's PhysicalMemory policy: the page at `frame`, created on demand.
    std::uint64_t* frame(kmem::PhysicalAddress frame) {
        KMEM_ASSERT(frame.is_aligned(kmem::kPageSize));
        auto& page = pages_[frame.value() >> 12];
        if (!page) {
            page = std::make_unique<Page>();
            std::memset(page->words.data(), poison_, kmem::kPageSize);
        }
        return page->words.data();
    }

    // nullptr for a page never touched.
    const std::uint64_t* find(kmem::PhysicalAddress frame) const {
        const auto it = pages_.find(frame.value() >> 12);
        return it == pages_.end() ? nullptr : it->second->words.data();
    }
    bool touched(kmem::PhysicalAddress frame) const { return find(frame.align_down(kmem::kPageSize)) != nullptr; }

    // Places bytes (an input such as the kernel file) at a physical address.
    // Both go a page at a time: the planner fuzzer stores and checks whole
    // kernels on every run.
    void store(kmem::PhysicalAddress at, std::span<const std::byte> bytes) {
        for_each_page_piece(at.value(), bytes.size(), [&](std::byte* page_bytes, std::size_t done, std::size_t length) {
            std::memcpy(page_bytes, bytes.data() + done, length);
        });
    }
    std::vector<std::byte> load(kmem::PhysicalAddress at, std::size_t size) {
        std::vector<std::byte> out(size);
        for_each_page_piece(at.value(), size, [&](std::byte* page_bytes, std::size_t done, std::size_t length) {
            std::memcpy(out.data() + done, page_bytes, length);
        });
        return out;
    }
    std::uint64_t load64(kmem::PhysicalAddress at) {
        std::uint64_t value = 0;
        for (unsigned i = 0; i < 8; ++i) value |= std::uint64_t{std::to_integer<std::uint8_t>(byte_at(at.value() + i))} << (8 * i);
        return value;
    }

    std::size_t touched_pages() const { return pages_.size(); }
    std::uint8_t poison() const { return poison_; }
    void clear() { pages_.clear(); }

private:
    struct Page {
        std::array<std::uint64_t, 512> words;
    };
    template <typename F>
    void for_each_page_piece(std::uint64_t address, std::size_t size, F&& piece) {
        for (std::size_t done = 0; done < size;) {
            const std::size_t offset = (address + done) & 0xfff;
            const std::size_t length = std::min<std::size_t>(size - done, 0x1000 - offset);
            piece(&byte_at(address + done), done, length);
            done += length;
        }
    }
    std::byte& byte_at(std::uint64_t address) {
        auto* words = frame(kmem::PhysicalAddress(address & ~std::uint64_t{0xfff}));
        return reinterpret_cast<std::byte*>(words)[address & 0xfff];
    }

    std::uint8_t poison_;
    std::unordered_map<std::uint64_t, std::unique_ptr<Page>> pages_;
};

}  // namespace loader_api::host
