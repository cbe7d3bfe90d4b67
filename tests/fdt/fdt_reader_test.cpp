// The reader on hand-built blobs: header, walk order, decoders, MachineInfo
// fields and limits, error values and their one-line text.
#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

#include "blob_builder.hpp"
#include "loader_api/fdt.hpp"
#include "loader_api/host/text.hpp"

using namespace loader_api::fdt;
using fdt_test::BlobBuilder;
using fdt_test::cells;

namespace {

using loader_api::host::StringSink;
using loader_api::host::text_of;

Fdt open(const std::vector<std::uint8_t>& blob) {
    auto fdt = Fdt::create(blob);
    if (!fdt) FAIL("unexpected error: " << text_of(fdt.error()));
    return *fdt;
}

// The error's views point into the blob, so it is kept until the next call.
Error machine_error(const std::vector<std::uint8_t>& blob) {
    static MachineInfo info;
    static std::vector<std::uint8_t> kept;
    kept = blob;
    auto result = read_machine_info(Bytes(kept), info);
    REQUIRE_FALSE(result);
    return result.error();
}

// Records every event it is given as one line, to check order, depth and
// paths; `interest` answers begin_node by node name (kAll for the rest).
struct Recorder {
    std::vector<std::string> events;
    std::vector<std::pair<std::string_view, Interest>> interest;
    Result<Interest> begin_node(const Cursor& c) {
        StringSink path;
        c.write_path(path);
        events.push_back("begin " + path.text + " depth " + std::to_string(c.depth()));
        for (const auto& [name, answer] : interest)
            if (c.name() == name) return answer;
        return Interest::kAll;
    }
    Result<void> property(const Cursor& c, const Property& p) {
        events.push_back("prop " + std::string(c.name()) + " " + std::string(p.name) + " " +
                         std::to_string(p.value.size()));
        return {};
    }
    Result<void> end_properties(const Cursor& c) {
        events.push_back("props-done " + std::string(c.name()));
        return {};
    }
    Result<void> end_node(const Cursor& c) {
        events.push_back("end " + std::string(c.name()));
        return {};
    }
};

struct NodeCounter {
    int nodes = 0;
    Result<Interest> begin_node(const Cursor&) {
        ++nodes;
        return Interest::kAll;
    }
    constexpr Result<void> property(const Cursor&, const Property&) { return {}; }
    constexpr Result<void> end_properties(const Cursor&) { return {}; }
    constexpr Result<void> end_node(const Cursor&) { return {}; }
};

// A matcher that fails at a chosen node, to see the walk report its path.
struct FailAt {
    std::string_view name;
    Result<Interest> begin_node(const Cursor& c) {
        if (c.name() == name) return fail(ErrorCode::kMissingProperty, c.offset());
        return Interest::kAll;
    }
    constexpr Result<void> property(const Cursor&, const Property&) { return {}; }
    constexpr Result<void> end_properties(const Cursor&) { return {}; }
    constexpr Result<void> end_node(const Cursor&) { return {}; }
};

// walk() takes only matchers with every hook (fdt::Matcher): a hook that is
// misspelled, missing, or returns something else is a compile error rather
// than a hook never called.
struct MisspelledHook {
    Result<Interest> begin_node(const Cursor&) { return Interest::kAll; }
    Result<void> property(const Cursor&, const Property&) { return {}; }
    Result<void> end_properties(const Cursor&) { return {}; }
    Result<void> end_nodes(const Cursor&) { return {}; }
};
struct OnlyProperty {
    Result<void> property(const Cursor&, const Property&) { return {}; }
};
struct WrongResult {
    Result<Interest> begin_node(const Cursor&) { return Interest::kAll; }
    bool property(const Cursor&, const Property&) { return true; }
    Result<void> end_properties(const Cursor&) { return {}; }
    Result<void> end_node(const Cursor&) { return {}; }
};
// begin_node without an answer (the contract before Interest): a walk could
// only guess what the matcher wants.
struct NoInterest {
    Result<void> begin_node(const Cursor&) { return {}; }
    Result<void> property(const Cursor&, const Property&) { return {}; }
    Result<void> end_properties(const Cursor&) { return {}; }
    Result<void> end_node(const Cursor&) { return {}; }
};
struct WrongParameter {
    Result<Interest> begin_node(const Cursor&) { return Interest::kAll; }
    Result<void> property(const Cursor&, std::string_view) { return {}; }
    Result<void> end_properties(const Cursor&) { return {}; }
    Result<void> end_node(const Cursor&) { return {}; }
};
static_assert(Matcher<Recorder> && Matcher<NodeCounter> && Matcher<FailAt>);
static_assert(!Matcher<MisspelledHook>);
static_assert(!Matcher<OnlyProperty>);
static_assert(!Matcher<WrongResult>);
static_assert(!Matcher<NoInterest>);
static_assert(!Matcher<WrongParameter>);

Property make_prop(std::string_view name, const std::vector<std::uint8_t>& value) {
    return {name, Bytes(value), 0x100};
}

// A small complete machine; tests add to it through `extra`.
template <class Extra>
std::vector<std::uint8_t> machine(Extra extra) {
    BlobBuilder b;
    b.reserve(0x8000'0000, 0x2'0000);
    b.begin("").prop("#address-cells", cells({2})).prop("#size-cells", cells({2}));
    b.begin("chosen").prop("bootargs", "console=ttyS0").end();
    b.begin("memory@80000000")
        .prop("device_type", "memory")
        .prop("reg", cells({0, 0x8000'0000, 0, 0x4000'0000}))
        .end();
    b.begin("cpus").prop("#address-cells", cells({1})).prop("#size-cells", cells({0}));
    b.prop("timebase-frequency", cells({10'000'000}));
    b.begin("cpu@0")
        .prop("device_type", "cpu")
        .prop("reg", cells({0}))
        .prop("mmu-type", "riscv,sv48")
        .prop("riscv,isa", "rv64imafdc")
        .begin("interrupt-controller")
        .prop("compatible", "riscv,cpu-intc")
        .end()
        .end();
    b.end();
    extra(b);
    b.end();
    return b.finish();
}

std::vector<std::uint8_t> machine() {
    return machine([](BlobBuilder&) {});
}

}  // namespace

TEST_CASE("header fields and the memory reservation map") {
    BlobBuilder b;
    b.reserve(0x1000, 0x2000).reserve(0xffff'0000'0000, 0x10);
    b.begin("").end();
    fdt_test::Layout layout;
    const auto blob = b.finish(true, 17, &layout);
    const Fdt fdt = open(blob);
    CHECK(fdt.size() == blob.size());
    CHECK(fdt.header().version == 17);
    CHECK(fdt.header().off_dt_struct == layout.struct_offset);
    REQUIRE(fdt.mem_reserve_count() == 2);
    CHECK(fdt.mem_reserve(0).address == 0x1000);
    CHECK(fdt.mem_reserve(0).size == 0x2000);
    CHECK(fdt.mem_reserve(1).address == 0xffff'0000'0000);
    CHECK(fdt.mem_reserve(1).size == 0x10);
}

TEST_CASE("a buffer longer than totalsize is cut to totalsize") {
    auto blob = machine();
    const std::size_t total = blob.size();
    blob.resize(total + 100, 0xff);
    const Fdt fdt = open(blob);
    CHECK(fdt.blob().size() == total);
}

TEST_CASE("walk: events in order, depth, paths, properties complete before subnodes") {
    BlobBuilder b;
    b.begin("").prop("a", cells({1})).nop();
    b.begin("x@1").prop("b", "hi").begin("y").end().end();
    b.begin("z").end();
    b.end();
    const auto blob = b.finish();
    Recorder recorder;
    NodeCounter counter;
    auto result = walk(open(blob), recorder, counter);
    REQUIRE(result);
    const std::vector<std::string> expected = {
        "begin / depth 0",  "prop  a 4",       "props-done ", "begin /x@1 depth 1", "prop x@1 b 3",
        "props-done x@1",   "begin /x@1/y depth 2", "props-done y", "end y",             "end x@1",
        "begin /z depth 1", "props-done z",    "end z",       "end ",
    };
    CHECK(recorder.events == expected);
    CHECK(counter.nodes == 4);
}

TEST_CASE("walk: each matcher gets the events its begin_node asked for") {
    BlobBuilder b;
    b.begin("").prop("a", cells({1}));
    b.begin("skip").prop("b", cells({2})).begin("hidden").prop("c", cells({3})).end().end();
    b.begin("only-props").prop("d", cells({4})).begin("hidden").end().end();
    b.begin("only-subnodes").prop("e", cells({5})).begin("seen").prop("f", cells({6})).end().end();
    b.end();
    const auto blob = b.finish();
    Recorder choosy;
    choosy.interest = {{"", Interest::kSubnodes},
                       {"skip", Interest::kNone},
                       {"only-props", Interest::kProperties},
                       {"only-subnodes", Interest::kSubnodes}};
    Recorder all;
    REQUIRE(walk(open(blob), choosy, all));
    const std::vector<std::string> expected = {
        "begin / depth 0",
        "begin /skip depth 1",
        "end skip",
        "begin /only-props depth 1",
        "prop only-props d 4",
        "props-done only-props",
        "end only-props",
        "begin /only-subnodes depth 1",
        "begin /only-subnodes/seen depth 2",
        "prop seen f 4",
        "props-done seen",
        "end seen",
        "end only-subnodes",
        "end ",
    };
    CHECK(choosy.events == expected);
    // The other matcher of the same walk still sees everything.
    CHECK(all.events.size() == 27);  // 7 nodes, 3 events each, and 6 properties
}

TEST_CASE("walk: a matcher's error stops the walk and carries the node path") {
    BlobBuilder b;
    b.begin("").begin("soc").begin("uart@10000000").end().begin("later").end().end().end();
    const auto blob = b.finish();
    NodeCounter counter;
    FailAt fail_at{"uart@10000000"};
    auto result = walk(open(blob), fail_at, counter);
    REQUIRE_FALSE(result);
    CHECK(result.error().code == ErrorCode::kMissingProperty);
    CHECK(result.error().node.view() == "/soc/uart@10000000");
    // The counter runs after the failing matcher: it saw root and soc only.
    CHECK(counter.nodes == 2);
}

TEST_CASE("walk: version 16 blob without size_dt_struct") {
    BlobBuilder b;
    b.begin("").begin("n").prop("p", cells({7})).end().end();
    const auto blob = b.finish(true, 16);
    NodeCounter counter;
    REQUIRE(walk(open(blob), counter));
    CHECK(counter.nodes == 2);
}

TEST_CASE("Property::is: the key narrows, the characters decide") {
    const std::vector<std::uint8_t> none;
    CHECK(make_prop("reg", none).is("reg"));
    CHECK(make_prop("reg-shift", none).is("reg-shift"));
    CHECK(make_prop("x", none).is("x"));
    // Same length, first two and last characters: equal keys, other names.
    CHECK(name_key("reg-shift") == name_key("reg-sxift"));
    CHECK_FALSE(make_prop("reg-sxift", none).is("reg-shift"));
    CHECK_FALSE(make_prop("regs", none).is("reg"));
    CHECK_FALSE(make_prop("", none).is("reg"));
    // A name longer than the key's length field still compares whole.
    const std::string long_name(300, 'a');
    CHECK_FALSE(make_prop(long_name, none).is("aaaa"));
}

TEST_CASE("cells and integers") {
    const auto two = cells({0x1234'5678, 0x9abc'def0});
    CHECK(read_cells(Bytes(two), 0, 0) == 0);
    CHECK(read_cells(Bytes(two), 0, 1) == 0x1234'5678);
    CHECK(read_cells(Bytes(two), 0, 2) == 0x1234'5678'9abc'def0);
    CHECK(*as_u64(make_prop("x", two)) == 0x1234'5678'9abc'def0);
    CHECK(*as_u32_or_u64(make_prop("x", two)) == 0x1234'5678'9abc'def0);
    const auto one = cells({42});
    CHECK(*as_u32(make_prop("x", one)) == 42);
    CHECK(*as_u32_or_u64(make_prop("x", one)) == 42);
    CHECK(*as_phandle(make_prop("phandle", one)) == 42);

    const auto three = std::vector<std::uint8_t>{1, 2, 3};
    auto bad = as_u32(make_prop("clock", three));
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == ErrorCode::kBadPropertySize);
    CHECK(bad.error().detail == 3);
    CHECK(bad.error().property == "clock");
    CHECK(bad.error().offset == 0x100);
    CHECK_FALSE(as_u64(make_prop("x", one)));
    CHECK_FALSE(as_u32_or_u64(make_prop("x", three)));
}

TEST_CASE("strings, string lists and status") {
    const auto hello = fdt_test::str("hello");
    CHECK(*as_string(make_prop("s", hello)) == "hello");
    const std::vector<std::uint8_t> unterminated = {'a', 'b'};
    CHECK(as_string(make_prop("s", unterminated)).error().code == ErrorCode::kUnterminatedString);
    CHECK_FALSE(as_string(make_prop("s", {})));

    std::vector<std::uint8_t> list = fdt_test::str("sifive,test1");
    for (auto part : {"sifive,test0", "", "syscon"}) {
        auto more = fdt_test::str(part);
        list.insert(list.end(), more.begin(), more.end());
    }
    const StringList strings = *as_string_list(make_prop("compatible", list));
    std::vector<std::string> seen;
    for (std::string_view s : strings) seen.emplace_back(s);
    CHECK(seen == std::vector<std::string>{"sifive,test1", "sifive,test0", "", "syscon"});
    CHECK(strings.count() == 4);
    CHECK(strings.contains("syscon"));
    CHECK(strings.contains("sifive,test0"));
    CHECK_FALSE(strings.contains("sifive"));
    CHECK(as_string_list(make_prop("c", {}))->empty());
    CHECK_FALSE(as_string_list(make_prop("c", unterminated)));

    CHECK(*as_status(make_prop("status", fdt_test::str("okay"))) == Status::kOkay);
    CHECK(*as_status(make_prop("status", fdt_test::str("ok"))) == Status::kOkay);
    CHECK(*as_status(make_prop("status", fdt_test::str("disabled"))) == Status::kDisabled);
    CHECK(*as_status(make_prop("status", fdt_test::str("reserved"))) == Status::kReserved);
    CHECK(*as_status(make_prop("status", fdt_test::str("fail"))) == Status::kFail);
    CHECK(*as_status(make_prop("status", fdt_test::str("fail-sss"))) == Status::kFail);
    CHECK(*as_status(make_prop("status", fdt_test::str("failing"))) == Status::kOther);
    CHECK(*as_status(make_prop("status", fdt_test::str("okey"))) == Status::kOther);
}

TEST_CASE("reg lists in 1- and 2-cell layouts") {
    const auto one_one = cells({0x8000'0000, 0x1000, 0x9000'0000, 0x2000});
    const RegList a = *as_reg(make_prop("reg", one_one), {1, 1});
    REQUIRE(a.size() == 2);
    CHECK(a[0] == RegEntry{0x8000'0000, 0x1000});
    CHECK(a[1] == RegEntry{0x9000'0000, 0x2000});

    const auto two_one = cells({0x1, 0x0, 0x4000});
    const RegList b = *as_reg(make_prop("reg", two_one), {2, 1});
    REQUIRE(b.size() == 1);
    CHECK(b[0] == RegEntry{0x1'0000'0000, 0x4000});

    const auto two_two = cells({0x0, 0x8000'0000, 0x1, 0x0});
    const RegList c = *as_reg(make_prop("reg", two_two), {2, 2});
    REQUIRE(c.size() == 1);
    CHECK(c[0] == RegEntry{0x8000'0000, 0x1'0000'0000});
    CHECK(c[0].range()->end().value() == 0x1'8000'0000);

    const auto ids = cells({3, 5});
    const RegList d = *as_reg(make_prop("reg", ids), {1, 0});
    std::vector<std::uint64_t> seen;
    for (RegEntry e : d) seen.push_back(e.address);
    CHECK(seen == std::vector<std::uint64_t>{3, 5});

    auto bad_length = as_reg(make_prop("reg", one_one), {2, 1});
    REQUIRE_FALSE(bad_length);
    CHECK(bad_length.error().code == ErrorCode::kBadPropertySize);
    CHECK(bad_length.error().detail == 16);
    auto bad_cells = as_reg(make_prop("reg", one_one), {3, 1});
    REQUIRE_FALSE(bad_cells);
    CHECK(bad_cells.error().code == ErrorCode::kBadCellCount);
    CHECK(bad_cells.error().detail == 3);

    const auto wraps = cells({0xffff'ffff, 0xffff'f000, 0, 0x2000});
    const RegList e = *as_reg(make_prop("reg", wraps), {2, 2});
    CHECK(e[0].range().error().code == ErrorCode::kAddressOverflow);
}

TEST_CASE("MachineInfo of a small machine") {
    auto blob = machine([](BlobBuilder& b) {
        b.begin("soc").prop("#address-cells", cells({1})).prop("#size-cells", cells({1}));
        b.begin("test@100000").prop("reg", cells({0x10'0000, 0x1000})).prop("compatible", "sifive,test0").end();
        b.end();
    });
    MachineInfo info;
    auto result = read_machine_info(Bytes(blob), info);
    REQUIRE_MESSAGE(result, (result ? "" : text_of(result.error())));
    CHECK(info.fdt_size == blob.size());
    REQUIRE(info.memory.size() == 1);
    CHECK(info.memory[0].range.begin().value() == 0x8000'0000);
    CHECK(info.memory[0].range.size() == 0x4000'0000);
    CHECK(info.memory[0].node == "memory@80000000");
    REQUIRE(info.reserved.size() == 1);
    CHECK(info.reserved[0].source == ReservationSource::kMemReserve);
    CHECK(info.reserved[0].range.size() == 0x2'0000);
    REQUIRE(info.harts.size() == 1);
    CHECK(info.harts[0].hart_id == 0);
    CHECK(info.harts[0].mmu_type == "riscv,sv48");
    CHECK(info.harts[0].isa == "rv64imafdc");
    CHECK(info.harts[0].timebase_frequency == 10'000'000);
    CHECK(info.timebase_frequency == 10'000'000);
    CHECK(info.chosen.has_bootargs);
    CHECK(info.chosen.bootargs == "console=ttyS0");
    CHECK_FALSE(info.chosen.has_initrd);
    CHECK(info.has_test_device);
    CHECK(info.test_device.value() == 0x10'0000);

    const std::string text = text_of(info);
    CHECK(text.find("[0x80000000, 0xc0000000) 1 GiB memory@80000000") != std::string::npos);
    CHECK(text.find("hart 0 okay mmu riscv,sv48 isa rv64imafdc") != std::string::npos);
    CHECK(text.find("bootargs \"console=ttyS0\"") != std::string::npos);
    CHECK(text.find("test device: 0x100000") != std::string::npos);
}

TEST_CASE("MachineInfo: reserved-memory kinds, initrd widths, per-cpu timebase, no mmu-type") {
    auto blob = machine([](BlobBuilder& b) {
        b.begin("reserved-memory").prop("#address-cells", cells({1})).prop("#size-cells", cells({1}));
        b.begin("fw@80000000").prop("reg", cells({0x8000'0000, 0x4'0000})).prop("no-map", std::vector<std::uint8_t>{}).end();
        b.begin("pool").prop("size", cells({0x10'0000})).prop("alignment", cells({0x1000})).end();
        b.begin("off@90000000").prop("reg", cells({0x9000'0000, 0x1000})).prop("status", "disabled").end();
        b.end();
        b.begin("cpus2").end();
    });
    MachineInfo info;
    REQUIRE(read_machine_info(Bytes(blob), info));
    REQUIRE(info.reserved.size() == 2);
    CHECK(info.reserved[1].source == ReservationSource::kReservedMemory);
    CHECK(info.reserved[1].no_map);
    CHECK(info.reserved[1].node == "fw@80000000");
    CHECK(info.reserved[1].range.end().value() == 0x8004'0000);
    REQUIRE(info.dynamic_reservations.size() == 1);
    CHECK(info.dynamic_reservations[0].node == "pool");
    CHECK(info.dynamic_reservations[0].size == 0x10'0000);
    CHECK(info.dynamic_reservations[0].alignment == 0x1000);
    CHECK_FALSE(info.dynamic_reservations[0].no_map);

    BlobBuilder b;
    b.begin("");
    b.begin("chosen")
        .prop("linux,initrd-start", cells({0x8400'0000}))
        .prop("linux,initrd-end", cells({0x1, 0x0}))
        .end();
    b.begin("cpus").prop("#size-cells", cells({0})).prop("#address-cells", cells({1}));
    b.begin("cpu@7").prop("device_type", "cpu").prop("reg", cells({7})).prop("timebase-frequency", cells({0, 5})).end();
    b.end().end();
    const auto second = b.finish();
    REQUIRE(read_machine_info(Bytes(second), info));
    CHECK(info.chosen.has_initrd);
    CHECK(info.chosen.initrd.begin().value() == 0x8400'0000);
    CHECK(info.chosen.initrd.end().value() == 0x1'0000'0000);
    REQUIRE(info.harts.size() == 1);
    CHECK(info.harts[0].hart_id == 7);
    CHECK(info.harts[0].timebase_frequency == 5);
    CHECK(info.timebase_frequency == 0);
    CHECK_FALSE(info.harts[0].has_mmu_type);
    CHECK(info.harts[0].isa.empty());
    CHECK(info.memory.empty());
    CHECK_FALSE(info.has_test_device);
    CHECK(text_of(info).find("mmu (none)") != std::string::npos);
}

TEST_CASE("MachineInfo: default cell counts 2/1 when the parent has none") {
    BlobBuilder b;
    b.begin("");
    b.begin("memory@100000000").prop("device_type", "memory").prop("reg", cells({1, 0, 0x1000})).end();
    b.end();
    const auto blob = b.finish();
    MachineInfo info;
    REQUIRE(read_machine_info(Bytes(blob), info));
    REQUIRE(info.memory.size() == 1);
    CHECK(info.memory[0].range.begin().value() == 0x1'0000'0000);
    CHECK(info.memory[0].range.size() == 0x1000);
}

TEST_CASE("MachineInfo: hart limit is exactly kMaxHarts, one more is an error naming it") {
    for (std::size_t count : {kMaxHarts, kMaxHarts + 1}) {
        BlobBuilder b;
        b.begin("").begin("cpus").prop("#address-cells", cells({1})).prop("#size-cells", cells({0}));
        for (std::size_t i = 0; i < count; ++i) {
            const auto id = static_cast<std::uint32_t>(i * 3 + 1);
            b.begin("cpu@" + std::to_string(id)).prop("device_type", "cpu").prop("reg", cells({id})).end();
        }
        b.end().end();
        const auto blob = b.finish();
        static MachineInfo info;
        auto result = read_machine_info(Bytes(blob), info);
        if (count == kMaxHarts) {
            REQUIRE(result);
            CHECK(info.harts.size() == kMaxHarts);
            CHECK(info.harts[kMaxHarts - 1].hart_id == (kMaxHarts - 1) * 3 + 1);
        } else {
            REQUIRE_FALSE(result);
            CHECK(result.error().code == ErrorCode::kLimitExceeded);
            CHECK(result.error().limit == Limit::kHarts);
            CHECK(result.error().detail == kMaxHarts);
            CHECK(result.error().node.view() == "/cpus/cpu@" + std::to_string(kMaxHarts * 3 + 1));
            CHECK(text_of(result.error()).find("kMaxHarts = 1024") != std::string::npos);
        }
    }
}

TEST_CASE("MachineInfo: memory, reservation and dynamic limits") {
    {
        BlobBuilder b;
        b.begin("");
        std::vector<std::uint32_t> reg;
        for (std::uint32_t i = 0; i <= kMaxMemoryRanges; ++i) {
            reg.push_back(i);
            reg.push_back(0);
            reg.push_back(0x1000);
        }
        std::vector<std::uint8_t> bytes;
        for (auto v : reg) fdt_test::put_be32(bytes, v);
        b.begin("memory").prop("device_type", "memory").prop("reg", bytes).end().end();
        const Error e = machine_error(b.finish());
        CHECK(e.limit == Limit::kMemoryRanges);
        CHECK(e.detail == kMaxMemoryRanges);
        CHECK(e.property.empty());
        CHECK(e.node.view() == "/memory");
    }
    {
        BlobBuilder b;
        for (std::uint64_t i = 0; i <= kMaxReservedRanges; ++i) b.reserve(i << 20, 0x1000);
        b.begin("").end();
        const Error e = machine_error(b.finish());
        CHECK(e.limit == Limit::kReservedRanges);
        CHECK(e.block == Block::kNone);
        CHECK(e.offset == 40 + 16 * kMaxReservedRanges);
    }
    {
        BlobBuilder b;
        b.begin("").begin("reserved-memory");
        for (std::size_t i = 0; i <= kMaxDynamicReservations; ++i)
            b.begin("pool" + std::to_string(i)).prop("size", cells({0x1000})).end();
        b.end().end();
        const Error e = machine_error(b.finish());
        CHECK(e.limit == Limit::kDynamicReservations);
        CHECK(e.node.view() == "/reserved-memory/pool" + std::to_string(kMaxDynamicReservations));
    }
}

TEST_CASE("MachineInfo: semantic errors name the node and property") {
    auto duplicate = machine([](BlobBuilder& b) {
        b.begin("cpus").end();  // a second top-level cpus is not /cpus' child list
    });
    MachineInfo info;
    CHECK(read_machine_info(Bytes(duplicate), info));

    BlobBuilder b;
    b.begin("").begin("cpus").prop("#address-cells", cells({1})).prop("#size-cells", cells({0}));
    b.begin("cpu@1").prop("device_type", "cpu").prop("reg", cells({1})).end();
    b.begin("cpu@one").prop("device_type", "cpu").prop("reg", cells({1})).end();
    b.end().end();
    Error e = machine_error(b.finish());
    CHECK(e.code == ErrorCode::kDuplicateHartId);
    CHECK(e.detail == 1);
    CHECK(e.node.view() == "/cpus/cpu@one");
    CHECK(e.property == "reg");

    BlobBuilder c;
    c.begin("").begin("chosen").prop("linux,initrd-start", cells({0x1000})).end().end();
    e = machine_error(c.finish());
    CHECK(e.code == ErrorCode::kIncompleteInitrd);
    CHECK(e.property == "linux,initrd-end");
    CHECK(e.node.view() == "/chosen");

    BlobBuilder d;
    d.begin("").begin("chosen").prop("linux,initrd-start", cells({0x2000})).prop("linux,initrd-end", cells({0x1000}));
    d.end().end();
    e = machine_error(d.finish());
    CHECK(e.code == ErrorCode::kInitrdEndBeforeStart);
    CHECK(e.detail == 0x2000);
    CHECK(e.detail2 == 0x1000);
    CHECK(text_of(e).starts_with(
        "fdt: initrd ends before it starts (linux,initrd-start, linux,initrd-end): 0x2000, 0x1000 at offset "));
    CHECK(text_of(e).ends_with(" (node /chosen)"));

    BlobBuilder m;
    m.begin("").begin("memory@0").prop("device_type", "memory").end().end();
    e = machine_error(m.finish());
    CHECK(e.code == ErrorCode::kMissingProperty);
    CHECK(e.property == "reg");
    CHECK(e.node.view() == "/memory@0");

    BlobBuilder r;
    r.begin("").begin("reserved-memory").begin("nothing").prop("no-map", std::vector<std::uint8_t>{}).end().end().end();
    e = machine_error(r.finish());
    CHECK(e.code == ErrorCode::kMissingProperty);
    CHECK(e.node.view() == "/reserved-memory/nothing");

    BlobBuilder o;
    o.begin("").prop("#address-cells", cells({2})).prop("#size-cells", cells({2}));
    o.begin("memory@0").prop("device_type", "memory").prop("reg", cells({0xffff'ffff, 0xffff'f000, 0, 0x2000})).end();
    o.end();
    e = machine_error(o.finish());
    CHECK(e.code == ErrorCode::kAddressOverflow);
    CHECK(e.property == "reg");
    CHECK(e.detail == 0xffff'ffff'ffff'f000);

    BlobBuilder t;
    t.begin("").begin("cpus").prop("#address-cells", cells({1})).begin("cpu@0").prop("device_type", "cpu");
    t.prop("reg", cells({0})).prop("status", std::vector<std::uint8_t>{'o', 'k'}).end().end().end();
    e = machine_error(t.finish());
    CHECK(e.code == ErrorCode::kUnterminatedString);
    CHECK(e.property == "status");
    const std::string line = text_of(e);
    CHECK(line.find("in property \"status\"") != std::string::npos);
    CHECK(line.find("(node /cpus/cpu@0)") != std::string::npos);
    CHECK(line.find('\n') == std::string::npos);
}

TEST_CASE("a malformed compatible elsewhere does not stop the walk") {
    auto blob = machine([](BlobBuilder& b) {
        b.begin("odd").prop("compatible", std::vector<std::uint8_t>{'x'}).end();
    });
    MachineInfo info;
    CHECK(read_machine_info(Bytes(blob), info));
}

namespace {

struct UartNode {
    std::string_view name;
    std::string_view compatible;  // NUL-separated list
    std::uint32_t address;
    std::vector<std::pair<std::string_view, std::uint32_t>> cells{};  // reg-shift, reg-io-width
    std::string_view status{};
};

// /chosen first (stdout-path then names a node not yet seen), /aliases last.
std::vector<std::uint8_t> uart_machine(std::string_view stdout_path, const std::vector<UartNode>& uarts,
                                       bool with_reg = true) {
    BlobBuilder b;
    b.begin("").prop("#address-cells", cells({2})).prop("#size-cells", cells({2}));
    b.begin("chosen").prop("stdout-path", stdout_path).end();
    b.begin("soc").prop("#address-cells", cells({1})).prop("#size-cells", cells({1}));
    for (const UartNode& uart : uarts) {
        b.begin(uart.name).prop("compatible", uart.compatible);
        if (with_reg) b.prop("reg", cells({uart.address, 0x100}));
        for (const auto& [name, value] : uart.cells) b.prop(name, cells({value}));
        if (!uart.status.empty()) b.prop("status", uart.status);
        b.end();
    }
    b.end();
    b.begin("aliases").prop("serial0", "/soc/serial@10010000").prop("serial1", "/soc/serial@10000000").end();
    b.end();
    return b.finish();
}

loader_api::fdt::StdoutUart stdout_uart_of(const std::vector<std::uint8_t>& blob) {
    MachineInfo info;
    auto result = read_machine_info(Bytes(blob), info);
    REQUIRE_MESSAGE(result, (result ? "" : text_of(result.error())));
    return info.stdout_uart;
}

}  // namespace

TEST_CASE("MachineInfo: the stdout-path UART, by path or alias, ns16550 and sifive") {
    using loader_api::fdt::UartKind;
    using namespace std::literals;
    const std::vector<UartNode> uarts = {
        {"serial@10000000", "ns16550a", 0x1000'0000},
        {"serial@10010000", "sifive,fu540-c000-uart\0sifive,uart0"sv, 0x1001'0000},
        {"serial@10020000", "vendor,soc-uart\0snps,dw-apb-uart"sv, 0x1002'0000, {{"reg-shift", 2}, {"reg-io-width", 4}}},
    };
    const auto by_path_blob = uart_machine("/soc/serial@10000000", uarts);  // `node` is a view into it
    auto by_path = stdout_uart_of(by_path_blob);
    CHECK(by_path.kind == UartKind::kNs16550);
    CHECK(by_path.base.value() == 0x1000'0000);
    CHECK(by_path.reg_shift == 0);
    CHECK(by_path.reg_io_width == 1);
    CHECK(by_path.node == "serial@10000000");

    auto alias_with_options = stdout_uart_of(uart_machine("serial0:115200n8", uarts));
    CHECK(alias_with_options.kind == UartKind::kSifive);
    CHECK(alias_with_options.base.value() == 0x1001'0000);

    auto designware = stdout_uart_of(uart_machine("/soc/serial@10020000:115200", uarts));
    CHECK(designware.kind == UartKind::kNs16550);
    CHECK(designware.base.value() == 0x1002'0000);
    CHECK(designware.reg_shift == 2);
    CHECK(designware.reg_io_width == 4);

    MachineInfo info;
    const auto blob = uart_machine("serial1", uarts);
    REQUIRE(read_machine_info(Bytes(blob), info));
    CHECK(text_of(info).find("stdout uart: ns16550 at 0x10000000 reg-shift 0 reg-io-width 1 serial@10000000") !=
          std::string::npos);
}

TEST_CASE("MachineInfo: a stdout-path the loader cannot drive leaves the SBI console, and the tree still reads") {
    using loader_api::fdt::UartKind;
    const std::vector<UartNode> ns = {{"serial@10000000", "ns16550a", 0x1000'0000}};
    CHECK(stdout_uart_of(uart_machine("", ns)).kind == UartKind::kNone);
    CHECK(stdout_uart_of(uart_machine("/soc/serial@10000001", ns)).kind == UartKind::kNone);  // no such node
    CHECK(stdout_uart_of(uart_machine("serial7", ns)).kind == UartKind::kNone);               // no such alias
    CHECK(stdout_uart_of(uart_machine("/soc/serial", ns)).kind == UartKind::kNone);           // unit address missing
    CHECK(stdout_uart_of(uart_machine("/soc/serial@10000000", {{"serial@10000000", "arm,pl011", 0x1000'0000}}))
              .kind == UartKind::kNone);
    CHECK(stdout_uart_of(uart_machine("/soc/serial@10000000",
                                      {{"serial@10000000", "ns16550a", 0x1000'0000, {}, "disabled"}}))
              .kind == UartKind::kNone);
    CHECK(stdout_uart_of(uart_machine("/soc/serial@10000000",
                                      {{"serial@10000000", "ns16550a", 0x1000'0000, {{"reg-io-width", 2}}}}))
              .kind == UartKind::kNone);
    CHECK(stdout_uart_of(uart_machine("/soc/serial@10000000",
                                      {{"serial@10000000", "ns16550a", 0x1000'0000, {{"reg-shift", 9}}}}))
              .kind == UartKind::kNone);
    CHECK(stdout_uart_of(uart_machine("/soc/serial@10000000", ns, false)).kind == UartKind::kNone);  // no reg
}

// /cpus holds cpu nodes only (devicetree spec 3.7), so the UART and
// test-device matchers skip it: a device placed there is not seen, while the
// same node under /soc is.
TEST_CASE("MachineInfo: no UART or test device is looked for under /cpus") {
    using loader_api::fdt::UartKind;
    auto machine = [](std::string_view parent) {
        BlobBuilder b;
        b.begin("").prop("#address-cells", cells({2})).prop("#size-cells", cells({2}));
        b.begin("chosen").prop("stdout-path", std::string("/") + std::string(parent) + "/serial@10000000").end();
        b.begin(parent).prop("#address-cells", cells({1})).prop("#size-cells", cells({1}));
        b.begin("serial@10000000").prop("compatible", "ns16550a").prop("reg", cells({0x1000'0000, 0x100})).end();
        b.begin("test@100000").prop("compatible", "sifive,test0").prop("reg", cells({0x10'0000, 0x1000})).end();
        b.end().end();
        return b.finish();
    };
    const auto soc = machine("soc");
    MachineInfo in_soc;
    REQUIRE(read_machine_info(Bytes(soc), in_soc));
    CHECK(in_soc.stdout_uart.kind == UartKind::kNs16550);
    CHECK(in_soc.has_test_device);
    const auto cpus = machine("cpus");
    MachineInfo in_cpus;
    REQUIRE(read_machine_info(Bytes(cpus), in_cpus));
    CHECK(in_cpus.stdout_uart.kind == UartKind::kNone);
    CHECK(!in_cpus.has_test_device);
}

// The loader's last resort after a refused tree: the exit device alone, so
// that the failure still reaches QEMU's exit status (boot-initrd-inverted).
TEST_CASE("read_test_device finds sifive,test past the /chosen that read_machine_info refused") {
    BlobBuilder b;
    b.begin("").prop("#address-cells", cells({2})).prop("#size-cells", cells({2}));
    b.begin("chosen").prop("linux,initrd-start", cells({0x2000})).prop("linux,initrd-end", cells({0x1000})).end();
    b.begin("soc").prop("#address-cells", cells({1})).prop("#size-cells", cells({1}));
    b.begin("test@100000").prop("reg", cells({0x10'0000, 0x1000})).prop("compatible", "sifive,test0").end();
    b.end().end();
    const auto blob = b.finish();
    MachineInfo info;
    REQUIRE_FALSE(read_machine_info(Bytes(blob), info));
    CHECK_FALSE(info.has_test_device);  // the walk stopped at /chosen
    const auto fdt = Fdt::create(Bytes(blob));
    REQUIRE(fdt);
    REQUIRE(read_test_device(*fdt, info));
    CHECK(info.has_test_device);
    CHECK(info.test_device.value() == 0x10'0000);

    BlobBuilder none;
    none.begin("").begin("chosen").end().end();
    const auto no_device = none.finish();
    REQUIRE(read_test_device(*Fdt::create(Bytes(no_device)), info));
    CHECK_FALSE(info.has_test_device);
}
