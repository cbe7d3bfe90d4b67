// Differential test: random map / unmap / protect sequences against a plain
// model with one entry per 4 KiB page. After every operation the outcome
// (success, or the exact error and its address), the full walk, translations
// at sampled addresses, the encoding of every entry and the frame count
// (against the minimum for the leaves present) are checked.
//
// The model covers four 4 GiB windows per mode: the bottom of the lower half,
// the top of the lower half, the bottom of the upper half and the top of the
// address space, so the canonical edges and the last root entries are in
// play. Ranges are drawn at 4 KiB, 2 MiB and 1 GiB granularity with ragged
// edges, and physical addresses congruent to va modulo 1 GiB or 2 MiB, so
// superpages are made and split all the time. The 512 GiB and 256 TiB pages
// of Sv48/Sv57 are left to page_table_test.cpp (a page model of them would
// not fit).
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kmem/array_memory.hpp"
#include "kmem/page_table.hpp"

using namespace kmem;
using namespace kmem::literals;

namespace {

constexpr std::size_t kFrames = 4096;
using Memory = ArrayMemory<kFrames>;

constexpr std::uint64_t kWindowSize = 4_GiB;
constexpr std::uint64_t kWindowPages = kWindowSize / 4_KiB;
constexpr std::uint64_t kPhysicalLimit = std::uint64_t{1} << 56;  // the spec's 56-bit PA, spelled independently

// std::mt19937_64 is specified exactly; the distributions are not, so the
// sequences are the same on every standard library only with our own.
class Random {
public:
    explicit Random(std::uint64_t seed) : engine_(seed) {}
    std::uint64_t below(std::uint64_t bound) { return engine_() % bound; }
    bool percent(unsigned chance) { return below(100) < chance; }
    template <class T, std::size_t N>
    const T& pick(const std::array<T, N>& items) {
        return items[below(N)];
    }

private:
    std::mt19937_64 engine_;
};

// The model's own packing of flags: seven bits, nothing shared with Pte.
std::uint64_t flags_code(PageFlags flags) {
    return (flags.read ? 1u : 0u) | (flags.write ? 2u : 0u) | (flags.execute ? 4u : 0u) | (flags.user ? 8u : 0u) |
           (flags.global ? 16u : 0u) | (static_cast<std::uint64_t>(flags.memory_type) << 5);
}
// A page: its 4 KiB-aligned pa, the flags code in bits 1..7, bit 0 set.
std::uint64_t page_entry(std::uint64_t pa, PageFlags flags) { return pa | (flags_code(flags) << 1) | 1; }
PageFlags entry_flags(std::uint64_t entry) {
    const std::uint64_t code = (entry >> 1) & 0x7f;
    PageFlags flags{.read = (code & 1) != 0,
                    .write = (code & 2) != 0,
                    .execute = (code & 4) != 0,
                    .user = (code & 8) != 0,
                    .global = (code & 16) != 0,
                    .memory_type = static_cast<MemoryType>(code >> 5)};
    flags.allow_write_execute = flags.write && flags.execute;
    return flags;
}
std::uint64_t entry_pa(std::uint64_t entry) { return entry & ~std::uint64_t{0xfff}; }

enum class OpKind { Map, Unmap, Protect };

struct Op {
    OpKind kind = OpKind::Map;
    std::uint64_t va = 0;
    std::uint64_t pa = 0;
    std::uint64_t size = 0;
    PageFlags flags;
};

std::string hex(std::uint64_t value) {
    std::string text;
    struct Sink {
        std::string& text;
        void put(char c) { text.push_back(c); }
    } sink{text};
    write_hex(sink, value);
    return text;
}

std::string describe(const Op& op) {
    std::string text = op.kind == OpKind::Map ? "map " : op.kind == OpKind::Unmap ? "unmap " : "protect ";
    text += hex(op.va) + " size " + hex(op.size);
    if (op.kind == OpKind::Map) text += " pa " + hex(op.pa);
    if (op.kind != OpKind::Unmap) text += " flags " + hex(flags_code(op.flags)) + (op.flags.allow_write_execute ? "+wx" : "");
    return text;
}

// What the model says an operation must do.
struct Outcome {
    bool ok = true;
    PageTableErrorCode code{};
    std::uint64_t va = 0;
    std::uint64_t pa = 0;
    bool check_pa = false;
};

Outcome failure(PageTableErrorCode code, std::uint64_t va) { return {false, code, va, 0, false}; }
Outcome failure(PageTableErrorCode code, std::uint64_t va, std::uint64_t pa) { return {false, code, va, pa, true}; }

template <class Mode>
class Model {
public:
    static constexpr std::uint64_t kLowerEnd = std::uint64_t{1} << (Mode::kVaBits - 1);
    static constexpr std::uint64_t kUpperBegin = 0 - kLowerEnd;
    static constexpr std::array<std::uint64_t, 4> kWindows{0, kLowerEnd - kWindowSize, kUpperBegin,
                                                           0 - kWindowSize};

    Model() {
        for (auto& pages : pages_) pages.assign(kWindowPages, 0);
    }

    static std::size_t window_of(std::uint64_t va) {
        for (std::size_t w = 0; w < kWindows.size(); ++w)
            if (va - kWindows[w] < kWindowSize) return w;
        return kWindows.size();
    }
    std::uint64_t* slot(std::uint64_t va) {
        const std::size_t w = window_of(va);
        return w < kWindows.size() ? &pages_[w][(va - kWindows[w]) / 4_KiB] : nullptr;
    }
    // The pages of [va, va + size) if they lie in one window, else null.
    std::uint64_t* span(std::uint64_t va, std::uint64_t size) {
        const std::size_t w = window_of(va);
        if (w == kWindows.size() || size > kWindowSize - (va - kWindows[w])) return nullptr;
        return &pages_[w][(va - kWindows[w]) / 4_KiB];
    }
    std::uint64_t entry(std::uint64_t va) {
        const std::uint64_t* found = slot(va);
        return found ? *found : 0;
    }
    std::uint64_t mapped_pages() const { return mapped_; }

    static bool canonical(std::uint64_t va) { return va < kLowerEnd || va >= kUpperBegin; }

    Outcome predict(const Op& op) {
        if (op.kind != OpKind::Unmap) {
            const PageFlags& f = op.flags;
            if ((!f.read && !f.write && !f.execute) || (f.write && !f.read))
                return failure(PageTableErrorCode::InvalidFlags, op.va);
            if (f.write && f.execute && !f.allow_write_execute) return failure(PageTableErrorCode::WriteExecute, op.va);
        }
        const std::uint64_t last = op.va + (op.size - 1);
        if (last < op.va) return failure(PageTableErrorCode::AddressOverflow, op.va);
        if (!canonical(op.va)) return failure(PageTableErrorCode::NonCanonical, op.va);
        if (op.va < kLowerEnd && last >= kLowerEnd) return failure(PageTableErrorCode::NonCanonical, kLowerEnd);
        if (op.kind == OpKind::Map) {
            if (op.pa + (op.size - 1) < op.pa) return failure(PageTableErrorCode::AddressOverflow, op.va);
            if (op.pa + (op.size - 1) >= kPhysicalLimit) {
                const std::uint64_t inside = op.pa < kPhysicalLimit ? kPhysicalLimit - op.pa : 0;
                return failure(PageTableErrorCode::PhysicalOutOfRange, op.va + inside, op.pa + inside);
            }
        }
        const std::uint64_t* pages = span(op.va, op.size);
        if (pages == nullptr) FAIL("generated ranges must stay inside a window: ", hex(op.va));
        for (std::uint64_t i = 0; i < op.size / 4_KiB; ++i) {
            if (op.kind == OpKind::Map && pages[i] != 0)
                return failure(PageTableErrorCode::AlreadyMapped, op.va + i * 4_KiB, entry_pa(pages[i]));
            if (op.kind != OpKind::Map && pages[i] == 0) return failure(PageTableErrorCode::NotMapped, op.va + i * 4_KiB);
        }
        return {};
    }

    // Only for operations predict() allowed.
    void apply(const Op& op) {
        std::uint64_t* pages = span(op.va, op.size);
        const std::uint64_t count = op.size / 4_KiB;
        const std::uint64_t first = page_entry(op.pa, op.flags);
        for (std::uint64_t i = 0; i < count; ++i) {
            switch (op.kind) {
                case OpKind::Map: pages[i] = first + i * 4_KiB; break;
                case OpKind::Unmap: pages[i] = 0; break;
                case OpKind::Protect: pages[i] = entry_pa(pages[i]) | (first & 0xfff); break;
            }
        }
        if (op.kind == OpKind::Map) mapped_ += count;
        if (op.kind == OpKind::Unmap) mapped_ -= count;
    }

private:
    std::array<std::vector<std::uint64_t>, 4> pages_;
    std::uint64_t mapped_ = 0;
};

constexpr std::array<PageFlags, 12> kFlagChoices{{
    PageFlags::read_only(),
    PageFlags::read_write(),
    PageFlags::read_write(),
    PageFlags::read_execute(),
    PageFlags::execute_only(),
    {.read = true, .user = true},
    {.read = true, .write = true, .global = true},
    {.read = true, .write = true, .memory_type = MemoryType::Io},
    {.read = true, .execute = true, .user = true, .memory_type = MemoryType::NonCacheable},
    {.read = true, .write = true, .execute = true, .allow_write_execute = true},
    {.read = true, .write = true, .execute = true},  // refused: W+X
    {.write = true},                                 // refused: reserved encoding
}};

template <class Mode>
class Driver {
public:
    using Table = PageTable<Mode, Memory>;
    using M = Model<Mode>;

    Driver(std::uint64_t seed, Memory& memory, M& model) : random_(seed), memory_(memory), model_(model) {
        auto created = Table::create(memory_);
        REQUIRE(created);
        table_ = std::move(*created);
        runs_ = walk();
    }

    void run(int operations) {
        for (int i = 0; i < operations; ++i) {
            CAPTURE(i);
            const Op op = next_op();
            step(op, random_.percent(10));
        }
        // Tear down run by run in random order: every table frame must come back.
        std::vector<Mapping> runs = runs_;
        for (std::size_t i = runs.size(); i > 1; --i) std::swap(runs[i - 1], runs[random_.below(i)]);
        for (const Mapping& run : runs) step({OpKind::Unmap, run.va.value(), 0, run.size, {}}, false);
        CHECK(model_.mapped_pages() == 0);
        CHECK(table_.table_frames() == 1);
        CHECK(memory_.live_frames() == 1);
        table_.release();
        CHECK(memory_.live_frames() == 0);
    }

    std::uint64_t successes() const { return successes_; }
    std::uint64_t failures() const { return failures_; }
    std::uint64_t out_of_frames() const { return out_of_frames_; }

private:
    std::uint64_t granule() {
        const unsigned roll = static_cast<unsigned>(random_.below(100));
        return roll < 45 ? 4_KiB : roll < 80 ? 2_MiB : 1_GiB;
    }

    // A range inside one window, with ragged edges; now and then it runs off
    // the end of the lower half (NonCanonical) or of the address space (wraps).
    Op random_range(OpKind kind) {
        const std::size_t window = random_.below(M::kWindows.size());
        const std::uint64_t begin = M::kWindows[window];
        const std::uint64_t g = granule();
        const std::uint64_t count = g == 1_GiB ? 1 + random_.below(2) : g == 2_MiB ? 1 + random_.below(6) : 1 + random_.below(64);
        std::uint64_t offset = align_down(random_.below(kWindowSize), g);
        const std::uint64_t edge = random_.percent(50) ? 4_KiB : 2_MiB;
        const std::uint64_t lead = random_.percent(40) ? (1 + random_.below(3)) * edge : 0;
        const std::uint64_t trail = random_.percent(40) ? (1 + random_.below(3)) * edge : 0;
        offset = offset >= lead ? offset - lead : 0;
        std::uint64_t size = count * g + lead + trail;
        const bool may_run_off = (window == 1 || window == 3) && random_.percent(5);
        if (!may_run_off && size > kWindowSize - offset) size = kWindowSize - offset;
        return {kind, begin + offset, 0, size, {}};
    }

    // A range over what is mapped now: part of one run or of a few
    // neighbouring runs (which may leave a hole in between).
    Op existing_range(OpKind kind) {
        if (runs_.empty()) return random_range(kind);
        const std::size_t first = random_.below(runs_.size());
        std::size_t last = std::min(runs_.size() - 1, first + random_.below(3));
        // Runs in different windows have untracked space between them.
        while (M::window_of(runs_[last].va.value()) != M::window_of(runs_[first].va.value())) --last;
        const Mapping& a = runs_[first];
        const Mapping& b = runs_[last];
        const std::uint64_t g1 = granule();
        const std::uint64_t g2 = granule();
        std::uint64_t start = a.va.value() + align_down(random_.below(a.size), g1);
        const std::uint64_t b_end = b.va.value() + b.size;  // may be 0 at the very top
        std::uint64_t end = b.va.value() + align_down(random_.below(b.size), g2) + g2;
        if (end - b.va.value() > b.size || end <= start) end = b_end;
        if (random_.percent(50)) end = b_end;
        if (random_.percent(30)) start = a.va.value();
        return {kind, start, 0, end - start, {}};
    }

    std::uint64_t random_pa(std::uint64_t va, std::uint64_t size) {
        const std::uint64_t gib = (1 + random_.below(1000)) * 1_GiB;
        const unsigned roll = static_cast<unsigned>(random_.below(100));
        if (roll < 50) return gib + va % 1_GiB;
        if (roll < 80 || size > 16_MiB) return gib + random_.below(512) * 2_MiB + va % 2_MiB;
        if (roll < 97) return gib + random_.below(1_GiB / 4_KiB) * 4_KiB;
        // Up against the end of physical memory.
        return kPhysicalLimit - (1 + random_.below(16)) * 4_KiB;
    }

    Op next_op() {
        // Keep the mapped volume (and so the cost of each check) bounded.
        const unsigned map_chance = model_.mapped_pages() > 150'000 ? 20 : 55;
        if (random_.percent(map_chance)) {
            Op op = random_.percent(15) ? existing_range(OpKind::Map) : random_range(OpKind::Map);
            op.pa = random_pa(op.va, op.size);
            op.flags = random_.pick(kFlagChoices);
            return op;
        }
        const OpKind kind = random_.percent(50) ? OpKind::Unmap : OpKind::Protect;
        Op op = random_.percent(70) ? existing_range(kind) : random_range(kind);
        if (kind == OpKind::Protect) op.flags = random_.pick(kFlagChoices);
        return op;
    }

    void step(const Op& op, bool tight_memory) {
        const std::string what = describe(op) + (tight_memory ? " (tight memory)" : "");
        INFO("op: ", what);
        const Outcome expected = model_.predict(op);
        if (tight_memory) memory_.set_limit(memory_.live_frames() + random_.below(4));
        Expected<void, PageTableError> result;
        switch (op.kind) {
            case OpKind::Map: result = table_.map(VirtualAddress(op.va), PhysicalAddress(op.pa), op.size, op.flags); break;
            case OpKind::Unmap: result = table_.unmap(VirtualAddress(op.va), op.size); break;
            case OpKind::Protect: result = table_.protect(VirtualAddress(op.va), op.size, op.flags); break;
        }
        memory_.set_limit(kFrames);

        if (result) {
            REQUIRE(expected.ok);
            model_.apply(op);
            ++successes_;
        } else if (expected.ok) {
            // Only a shortage of frames may fail what the model allows.
            const PageTableError& error = result.error();
            INFO("error: ", error.va.value(), " code ", static_cast<int>(error.code));
            REQUIRE(tight_memory);
            REQUIRE(error.code == PageTableErrorCode::OutOfFrames);
            // A split at the end of the range names the boundary, one past its last page.
            CHECK(error.va.value() - op.va <= (op.kind == OpKind::Map ? op.size - 1 : op.size));
            if (op.kind == OpKind::Map) CHECK(error.pa.value() - op.pa == error.va.value() - op.va);
            ++out_of_frames_;
        } else {
            const PageTableError& error = result.error();
            CHECK(error.code == expected.code);
            CHECK(error.va.value() == expected.va);
            if (expected.check_pa) CHECK(error.pa.value() == expected.pa);
            CHECK(error.request_va.value() == op.va);
            CHECK(error.request_size == op.size);
            ++failures_;
        }
        check_everything(op);
    }

    std::vector<Mapping> walk() const {
        std::vector<Mapping> runs;
        table_.walk([&](const Mapping& mapping) { runs.push_back(mapping); });
        return runs;
    }

    void check_everything(const Op& op) {
        runs_ = walk();
        check_walk();
        check_entries_and_frames();
        check_translations(op);
    }

    // The walk is exactly the model: every page of every run agrees, runs are
    // sorted, disjoint and maximal, and together they hold every mapped page.
    void check_walk() {
        std::uint64_t pages = 0;
        for (std::size_t i = 0; i < runs_.size(); ++i) {
            const Mapping& run = runs_[i];
            REQUIRE(run.size > 0);
            REQUIRE(run.va.is_aligned(4_KiB));
            REQUIRE(is_aligned(run.size, 4_KiB));
            if (i > 0) {
                const Mapping& previous = runs_[i - 1];
                const std::uint64_t previous_end = previous.va.value() + previous.size;
                REQUIRE(previous_end <= run.va.value());
                const bool mergeable = previous_end == run.va.value() &&
                                       previous.pa.value() + previous.size == run.pa.value() &&
                                       previous.flags == run.flags;
                REQUIRE_FALSE(mergeable);
            }
            const std::uint64_t* model_pages = model_.span(run.va.value(), run.size);
            INFO("run ", hex(run.va.value()), " size ", hex(run.size));
            REQUIRE(model_pages != nullptr);
            const std::uint64_t count = run.size / 4_KiB;
            const std::uint64_t first = page_entry(run.pa.value(), run.flags);
            for (std::uint64_t i = 0; i < count; ++i) {
                if (model_pages[i] != first + i * 4_KiB) {
                    INFO("page ", hex(run.va.value() + i * 4_KiB), " model ", hex(model_pages[i]), " walk pa ",
                         hex(run.pa.value() + i * 4_KiB));
                    REQUIRE(false);
                }
            }
            pages += count;
        }
        REQUIRE(pages == model_.mapped_pages());
    }

    // Every entry keeps the encoding rules, the frame count is exactly what
    // the leaves need, and the memory agrees on how many frames are in use.
    void check_entries_and_frames() {
        std::uint64_t tables = 0;
        bool entries_ok = true;
        table_.for_each_table([&](PhysicalAddress frame, unsigned level) {
            ++tables;
            const std::uint64_t* slots = memory_.pointer(frame);
            unsigned valid = 0;
            for (unsigned i = 0; i < 512; ++i) {
                const std::uint64_t raw = slots[i];
                if ((raw & 1) == 0) continue;
                ++valid;
                const bool r = raw & 2, w = raw & 4, x = raw & 8;
                const std::uint64_t ppn = (raw >> 10) & ((std::uint64_t{1} << 44) - 1);
                const std::uint64_t above_ppn = raw >> 54;  // reserved 60..54, PBMT, N
                if (!r && !w && !x) {
                    // A pointer: V and the PPN, nothing else.
                    entries_ok &= raw == ((ppn << 10) | 1) && level > 0;
                } else {
                    const bool a = raw & 0x40, d = raw & 0x80;
                    entries_ok &= a && d && !(w && !r);  // A and D on every leaf (boot protocol)
                    entries_ok &= (ppn & ((std::uint64_t{1} << (9 * level)) - 1)) == 0;
                    entries_ok &= (above_ppn & 0x7f) == 0 && (raw >> 63) == 0 && ((raw >> 61) & 3) != 3;
                }
            }
            // No table but the root is ever left empty.
            entries_ok &= valid > 0 || level == Mode::kLevels - 1;
        });
        CHECK(entries_ok);
        CHECK(tables == table_.table_frames());
        CHECK(memory_.live_frames() == table_.table_frames());
        std::vector<Leaf> leaves;
        table_.for_each_leaf([&](const Leaf& leaf) { leaves.push_back(leaf); });
        CHECK(minimum_table_frames<Mode>(leaves) == table_.table_frames());
    }

    void check_translation(std::uint64_t va) {
        INFO("translate ", hex(va));
        const auto t = table_.translate(VirtualAddress(va));
        if (!M::canonical(va)) {
            REQUIRE_FALSE(t);
            CHECK(t.error().code == PageTableErrorCode::NonCanonical);
            return;
        }
        const std::uint64_t page = model_.entry(va & ~std::uint64_t{0xfff});
        if (page == 0) {
            REQUIRE_FALSE(t);
            CHECK(t.error().code == PageTableErrorCode::NotMapped);
            CHECK(t.error().va.value() == va);
            return;
        }
        REQUIRE(t);
        CHECK(t->pa.value() == entry_pa(page) + (va & 0xfff));
        CHECK(t->flags == entry_flags(page));
        CHECK(t->page_size == (std::uint64_t{4_KiB} << (9 * t->level)));
        CHECK((t->pa.value() - (va & (t->page_size - 1))) % t->page_size == 0);
    }

    // Both sides of each end of the last operation, the edges of some runs,
    // and random addresses in the windows and around the canonical edges.
    void check_translations(const Op& op) {
        const std::uint64_t last = op.va + op.size - 1;
        for (const std::uint64_t va : {op.va - 1, op.va, op.va + 4_KiB, last, last + 1, last - 4_KiB}) check_translation(va);
        for (int i = 0; i < 4 && !runs_.empty(); ++i) {
            const Mapping& run = runs_[random_.below(runs_.size())];
            check_translation(run.va.value());
            check_translation(run.va.value() - 1);
            check_translation(run.va.value() + run.size - 1);
            check_translation(run.va.value() + run.size);
            check_translation(run.va.value() + random_.below(run.size));
        }
        for (int i = 0; i < 8; ++i) {
            const std::uint64_t begin = random_.pick(M::kWindows);
            check_translation(begin + random_.below(kWindowSize));
        }
        check_translation(M::kLowerEnd);
        check_translation(M::kUpperBegin - 1);
    }

    Random random_;
    Memory& memory_;
    M& model_;
    Table table_;
    std::vector<Mapping> runs_;
    std::uint64_t successes_ = 0;
    std::uint64_t failures_ = 0;
    std::uint64_t out_of_frames_ = 0;
};

template <class Mode>
void run_sequences(std::uint64_t seed_base, int sequences, int operations) {
    auto memory = std::make_unique<Memory>();
    auto model = std::make_unique<Model<Mode>>();
    std::uint64_t successes = 0, failures = 0, out_of_frames = 0;
    for (int sequence = 0; sequence < sequences; ++sequence) {
        const std::uint64_t seed = seed_base + static_cast<std::uint64_t>(sequence);
        CAPTURE(seed);
        Driver<Mode> driver(seed, *memory, *model);
        driver.run(operations);
        successes += driver.successes();
        failures += driver.failures();
        out_of_frames += driver.out_of_frames();
    }
    MESSAGE(Mode::kName, ": ", successes, " operations succeeded, ", failures, " failed as the model said, ",
            out_of_frames, " ran out of frames and were rolled back");
    // Both kinds must be common, or the test checks less than it seems to.
    CHECK(successes > static_cast<std::uint64_t>(sequences * operations) / 4);
    CHECK(failures > static_cast<std::uint64_t>(sequences * operations) / 10);
    CHECK(out_of_frames > 0);
}

}  // namespace

TEST_CASE("random operations against a page model: Sv39") { run_sequences<Sv39>(39'000, 50, 40); }
TEST_CASE("random operations against a page model: Sv48") { run_sequences<Sv48>(48'000, 50, 40); }
TEST_CASE("random operations against a page model: Sv57") { run_sequences<Sv57>(57'000, 50, 40); }
