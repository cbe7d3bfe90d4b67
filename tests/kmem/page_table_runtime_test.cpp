// PageTable<RuntimePagingMode, M> against PageTable<Sv39|Sv48|Sv57, M>: the
// same random operations on both, in lockstep over two memories that hand
// out the same frames, must give the same outcome (success, or the same
// error text, mode name included) and the same tables, entry for entry. The
// fixed modes are checked against a page model in page_table_random_test;
// this makes the run-time mode (the loader's) answer for the same rules.
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
#include "loader_api/host/text.hpp"

using namespace kmem;
using namespace kmem::literals;
using loader_api::host::text_of;

namespace {

using Memory = ArrayMemory<2048>;

// A run-time-mode table in constant evaluation, as the fixed ones
// (page_table_constexpr_test): Sv48's 512 GiB page and a 4 KiB page at the top.
constexpr bool runtime_sv48_builds_in_constant_evaluation() {
    ArrayMemory<8> memory;
    auto table = PageTable<RuntimePagingMode, ArrayMemory<8>>::create(memory, RuntimePagingMode(PagingModeId::Sv48));
    if (!table || table->mode().id() != PagingModeId::Sv48) return false;
    if (!table->map(VirtualAddress(512_GiB), PhysicalAddress(512_GiB), 512_GiB, PageFlags::read_write())) return false;
    if (!table->map(VirtualAddress(0 - 4_KiB), 0x9000_pa, 4_KiB, PageFlags::read_only())) return false;
    const auto big = table->translate(VirtualAddress(512_GiB + 0x1234));
    return big && big->level == 3 && big->pa == PhysicalAddress(512_GiB + 0x1234) && table->table_frames() == 4 &&
           table->satp() == Sv48::satp(table->root()) && !table->translate(VirtualAddress(0x1000));
}
static_assert(runtime_sv48_builds_in_constant_evaluation());

class Random {
public:
    explicit Random(std::uint64_t seed) : engine_(seed) {}
    std::uint64_t below(std::uint64_t bound) { return engine_() % bound; }
    bool percent(unsigned chance) { return below(100) < chance; }

private:
    std::mt19937_64 engine_;
};

template <class Result>
std::string outcome(const Result& result) {
    return result ? std::string("ok") : text_of(result.error());
}

template <class Mode>
class Lockstep {
public:
    using Fixed = PageTable<Mode, Memory>;
    using Runtime = PageTable<RuntimePagingMode, Memory>;

    explicit Lockstep(std::uint64_t seed) : random_(seed) {
        auto fixed = Fixed::create(*fixed_memory_);
        auto runtime = Runtime::create(*runtime_memory_, RuntimePagingMode(Mode::kId));
        REQUIRE(fixed);
        REQUIRE(runtime);
        fixed_ = std::move(*fixed);
        runtime_ = std::move(*runtime);
        CHECK(runtime_.mode().id() == Mode::kId);
        CHECK(runtime_.root() == fixed_.root());
        CHECK(runtime_.satp(5) == fixed_.satp(5));
    }

    void run(int operations) {
        for (int i = 0; i < operations; ++i) {
            CAPTURE(i);
            step();
            if (i % 16 == 0) compare_tables();
        }
        compare_tables();
        compare_adopted();
        fixed_.release();
        runtime_.release();
        CHECK(fixed_memory_->live_frames() == 0);
        CHECK(runtime_memory_->live_frames() == 0);
    }

private:
    // Near the canonical edges of both halves, and at the bottom and top.
    std::uint64_t pick_va() {
        const std::uint64_t lower_end = std::uint64_t{1} << (Mode::kVaBits - 1);
        const std::uint64_t bases[] = {0, lower_end - 8_GiB, 0 - lower_end, 0 - 8_GiB};
        const std::uint64_t granules[] = {4_KiB, 2_MiB, 1_GiB};
        const std::uint64_t granule = granules[random_.below(3)];
        std::uint64_t va = bases[random_.below(4)] + random_.below(8_GiB / granule) * granule;
        if (random_.percent(30)) va += random_.below(512) * 4_KiB;
        if (random_.percent(2)) va += 8;  // misaligned
        if (random_.percent(2)) va ^= std::uint64_t{1} << (Mode::kVaBits - 1);  // not canonical
        return va;
    }
    std::uint64_t pick_size() {
        const std::uint64_t granules[] = {4_KiB, 2_MiB, 1_GiB};
        std::uint64_t size = (1 + random_.below(4)) * granules[random_.below(3)];
        if (random_.percent(40)) size += random_.below(512) * 4_KiB;
        if (random_.percent(3)) size = random_.below(2) * 9_GiB;  // empty, or past a half's end
        return size;
    }
    PageFlags pick_flags() {
        const PageFlags choices[] = {PageFlags::read_only(),
                                     PageFlags::read_write(),
                                     PageFlags::read_execute(),
                                     {.read = true, .write = true, .memory_type = MemoryType::Io},
                                     {.read = true, .write = true, .execute = true},  // refused: W+X
                                     {.write = true}};                                // refused
        return choices[random_.below(random_.percent(90) ? 4 : 6)];
    }

    void step() {
        const std::uint64_t va = pick_va();
        std::uint64_t size = pick_size();
        // pa congruent to va modulo 1 GiB or 2 MiB mostly, so superpages
        // happen; else 4 KiB pages, for a short range (a long one would take
        // more frames than there are).
        std::uint64_t pa = (va & (1_GiB - 1)) + random_.below(64) * 1_GiB;
        if (random_.percent(20)) pa = (va & (2_MiB - 1)) + random_.below(1u << 12) * 2_MiB;
        if (random_.percent(5)) {
            pa = random_.below(1u << 20) * 4_KiB + 4_KiB;
            size = std::min<std::uint64_t>(size, 1_MiB);
        }
        if (random_.percent(2)) pa = (std::uint64_t{1} << 56) - 4_KiB;  // past the physical limit
        const PageFlags flags = pick_flags();
        // Sometimes few frames are left, so OutOfFrames and its undo are compared too.
        const std::size_t limit = random_.percent(10) ? fixed_memory_->live_frames() + random_.below(4) : 2048;
        fixed_memory_->set_limit(limit);
        runtime_memory_->set_limit(limit);
        std::string fixed, runtime;
        switch (random_.below(8)) {
            case 0: case 1: case 2: case 3:
                fixed = outcome(fixed_.map(VirtualAddress(va), PhysicalAddress(pa), size, flags));
                runtime = outcome(runtime_.map(VirtualAddress(va), PhysicalAddress(pa), size, flags));
                break;
            case 4: case 5:
                fixed = outcome(fixed_.unmap(VirtualAddress(va), size));
                runtime = outcome(runtime_.unmap(VirtualAddress(va), size));
                break;
            case 6:
                fixed = outcome(fixed_.protect(VirtualAddress(va), size, flags));
                runtime = outcome(runtime_.protect(VirtualAddress(va), size, flags));
                break;
            default: {
                const auto a = fixed_.translate(VirtualAddress(va));
                const auto b = runtime_.translate(VirtualAddress(va));
                fixed = a ? std::to_string(a->pa.value()) + " " + std::to_string(a->level) + " " + std::to_string(a->pte.raw())
                          : text_of(a.error());
                runtime = b ? std::to_string(b->pa.value()) + " " + std::to_string(b->level) + " " + std::to_string(b->pte.raw())
                            : text_of(b.error());
                break;
            }
        }
        CHECK(runtime == fixed);
        CHECK(runtime_.table_frames() == fixed_.table_frames());
        ++(fixed == "ok" ? successes : failures);
        out_of_frames += fixed.find("out of frames") != std::string::npos;
    }

public:
    int successes = 0;
    int failures = 0;
    int out_of_frames = 0;

private:

    template <class Table>
    static std::vector<std::uint64_t> raw_entries(const Table& table, Memory& memory) {
        std::vector<std::uint64_t> result;
        table.for_each_table([&](PhysicalAddress frame, unsigned level) {
            const std::uint64_t* slots = memory.pointer(frame);
            result.push_back(frame.value());
            result.push_back(level);
            result.insert(result.end(), slots, slots + 512);
        });
        return result;
    }

    void compare_tables() {
        CHECK(raw_entries(runtime_, *runtime_memory_) == raw_entries(fixed_, *fixed_memory_));
        std::vector<Mapping> fixed, runtime;
        fixed_.walk([&](const Mapping& mapping) { fixed.push_back(mapping); });
        runtime_.walk([&](const Mapping& mapping) { runtime.push_back(mapping); });
        CHECK(runtime == fixed);
    }

    // adopt() in the run-time mode counts the same tables, and names the
    // same bad entry (by its canonical address) in the same words.
    void compare_adopted() {
        auto fixed = Fixed::adopt(*fixed_memory_, fixed_.root());
        auto runtime = Runtime::adopt(*runtime_memory_, runtime_.root(), RuntimePagingMode(Mode::kId));
        REQUIRE(fixed);
        REQUIRE(runtime);
        CHECK(runtime->table_frames() == fixed->table_frames());
        CHECK(runtime->mode().id() == Mode::kId);
        std::uint64_t* fixed_root = fixed_memory_->pointer(fixed_.root());
        std::uint64_t* runtime_root = runtime_memory_->pointer(runtime_.root());
        const std::uint64_t saved = fixed_root[511];
        CHECK(runtime_root[511] == saved);
        const std::uint64_t bad = Pte::table(fixed_.root()).raw() | pte_bits::kUser;
        fixed_root[511] = runtime_root[511] = bad;
        const auto fixed_error = Fixed::adopt(*fixed_memory_, fixed_.root());
        const auto runtime_error = Runtime::adopt(*runtime_memory_, runtime_.root(), RuntimePagingMode(Mode::kId));
        REQUIRE(!fixed_error);
        REQUIRE(!runtime_error);
        CHECK(text_of(runtime_error.error()) == text_of(fixed_error.error()));
        CHECK(text_of(runtime_error.error()).find(std::string(name(Mode::kId))) != std::string::npos);
        fixed_root[511] = runtime_root[511] = saved;
    }

    Random random_;
    std::unique_ptr<Memory> fixed_memory_ = std::make_unique<Memory>();
    std::unique_ptr<Memory> runtime_memory_ = std::make_unique<Memory>();
    Fixed fixed_;
    Runtime runtime_;
};

}  // namespace

TEST_CASE("the run-time mode's constants are the fixed modes'") {
    for (const PagingModeId id : {PagingModeId::Sv39, PagingModeId::Sv48, PagingModeId::Sv57}) {
        const RuntimePagingMode mode(id);
        with_paging_mode(id, [&]<PagingMode M>(M) {
            CHECK(mode.levels() == M::kLevels);
            CHECK(mode.va_bits() == M::kVaBits);
            CHECK(mode.upper_half_begin() == M::kUpperHalfBegin);
            CHECK(mode.satp(PhysicalAddress(0x8020'0000), 3) == M::satp(PhysicalAddress(0x8020'0000), 3));
        });
    }
    CHECK(RuntimePagingMode().id() == PagingModeId::Sv39);
}

TEST_CASE_TEMPLATE("a run-time-mode table does what the fixed mode's does", Mode, Sv39, Sv48, Sv57) {
    int successes = 0, failures = 0, out_of_frames = 0;
    for (std::uint64_t seed = 1; seed <= 12; ++seed) {
        CAPTURE(seed);
        Lockstep<Mode> lockstep(seed * 1000 + Mode::kLevels);
        lockstep.run(300);
        successes += lockstep.successes;
        failures += lockstep.failures;
        out_of_frames += lockstep.out_of_frames;
    }
    MESSAGE(Mode::kName, ": ", successes, " succeeded, ", failures, " failed (", out_of_frames, " out of frames)");
    // Both outcomes in numbers, or the comparison proves little.
    CHECK(successes > 800);
    CHECK(failures > 500);
    CHECK(out_of_frames > 20);
}

TEST_CASE("create in the run-time mode names the mode when the root has no frame") {
    auto memory = std::make_unique<Memory>();
    memory->set_limit(0);
    const auto table = PageTable<RuntimePagingMode, Memory>::create(*memory, RuntimePagingMode(PagingModeId::Sv57));
    REQUIRE_FALSE(table);
    CHECK(text_of(table.error()) == "page table Sv57: create: no frame for the root table");
}
