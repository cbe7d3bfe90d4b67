// Differential test: for every tree of the corpus (QEMU's own dumps and the
// .dts files of this directory, compiled by dtc), the reader's property dump
// and MachineInfo must equal what an independent extraction with libfdt
// finds. The corpus comes in through the environment:
//   FDT_QEMU_LIST  a file naming one QEMU-dumped .dtb a line (may be absent
//                  when QEMU is not installed)
//   FDT_DTS_DTBS   the dtc-compiled trees, separated by ':'
#include <doctest/doctest.h>

extern "C" {
#include <libfdt.h>
}

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "loader_api/fdt.hpp"
#include "loader_api/host/text.hpp"

using namespace loader_api::fdt;

namespace {

using loader_api::host::StringSink;

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::string part;
    std::istringstream in(text);
    while (std::getline(in, part, separator))
        if (!part.empty()) parts.push_back(part);
    return parts;
}

std::vector<std::string> qemu_trees() {
    const char* list = std::getenv("FDT_QEMU_LIST");
    if (list == nullptr) return {};
    std::ifstream in(list);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return split(text, '\n');
}

std::vector<std::string> dts_trees() {
    const char* list = std::getenv("FDT_DTS_DTBS");
    return list == nullptr ? std::vector<std::string>{} : split(list, ':');
}

std::vector<std::uint8_t> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in, "cannot open " << path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string hex(const void* data, std::size_t size) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    for (std::size_t i = 0; i < size; ++i) {
        out.push_back(kDigits[bytes[i] >> 4]);
        out.push_back(kDigits[bytes[i] & 0xf]);
    }
    return out;
}


// ---- the reader's side -------------------------------------------------------

struct Dumper {
    std::vector<std::string> lines;
    std::string path;
    Result<Interest> begin_node(const Cursor& cursor) {
        StringSink sink;
        cursor.write_path(sink);
        path = sink.text;
        lines.push_back("node " + path);
        return Interest::kAll;
    }
    Result<void> property(const Cursor&, const Property& prop) {
        lines.push_back("prop " + path + " " + std::string(prop.name) + " = " + hex(prop.value.data(), prop.value.size()));
        return {};
    }
    constexpr Result<void> end_properties(const Cursor&) { return {}; }
    constexpr Result<void> end_node(const Cursor&) { return {}; }
};

std::vector<std::string> reader_dump(const Fdt& fdt) {
    Dumper dumper;
    for (std::size_t i = 0; i < fdt.mem_reserve_count(); ++i) {
        const MemReserveEntry entry = fdt.mem_reserve(i);
        dumper.lines.push_back("rsv " + std::to_string(entry.address) + " " + std::to_string(entry.size));
    }
    auto result = walk(fdt, dumper);
    REQUIRE(result);
    return dumper.lines;
}

// ---- libfdt's side -----------------------------------------------------------

std::vector<std::string> libfdt_dump(const void* fdt) {
    std::vector<std::string> lines;
    for (int i = 0; i < fdt_num_mem_rsv(fdt); ++i) {
        uint64_t address = 0, size = 0;
        REQUIRE(fdt_get_mem_rsv(fdt, i, &address, &size) == 0);
        lines.push_back("rsv " + std::to_string(address) + " " + std::to_string(size));
    }
    int depth = 0;
    for (int node = 0; node >= 0 && depth >= 0; node = fdt_next_node(fdt, node, &depth)) {
        char path[1024];
        REQUIRE(fdt_get_path(fdt, node, path, sizeof path) == 0);
        lines.push_back(std::string("node ") + path);
        int prop = 0;
        fdt_for_each_property_offset(prop, fdt, node) {
            const char* name = nullptr;
            int length = 0;
            const void* value = fdt_getprop_by_offset(fdt, prop, &name, &length);
            REQUIRE(value != nullptr);
            lines.push_back(std::string("prop ") + path + " " + name + " = " + hex(value, static_cast<std::size_t>(length)));
        }
    }
    return lines;
}

// What the loader should see, as libfdt finds it. Plain values, compared field
// by field with MachineInfo.
struct Range {
    std::uint64_t base, size;
    std::string node;
    bool no_map = false;
    bool operator==(const Range&) const = default;
};
struct Dynamic {
    std::string node;
    std::uint64_t size, alignment;
    bool no_map;
    std::string alloc_ranges;  // raw bytes, hex
    bool operator==(const Dynamic&) const = default;
};
struct HartRef {
    std::uint64_t id;
    std::string status;  // "okay" or the property text
    bool has_mmu;
    std::string mmu, isa, extensions;  // extensions: raw bytes, hex
    std::uint64_t timebase;
    std::uint32_t phandle;
    std::string node;
    bool operator==(const HartRef&) const = default;
};
struct Expected {
    std::vector<Range> memory, reserved;
    std::vector<Dynamic> dynamic;
    std::vector<HartRef> harts;
    std::uint64_t timebase = 0;
    bool has_bootargs = false;
    std::string bootargs, rng_seed, stdout_path;
    bool has_initrd = false;
    std::uint64_t initrd_start = 0, initrd_end = 0;
    bool has_boot_hartid = false;
    std::uint64_t boot_hartid = 0;
    bool has_test = false;
    std::uint64_t test = 0;
};

std::uint64_t cells_at(const void* value, int index, int count) {
    const auto* words = static_cast<const fdt32_t*>(value);
    std::uint64_t result = 0;
    for (int i = 0; i < count; ++i) result = result << 32 | fdt32_to_cpu(words[index + i]);
    return result;
}

std::uint64_t int_prop(const void* fdt, int node, const char* name) {
    int length = 0;
    const void* value = fdt_getprop(fdt, node, name, &length);
    if (value == nullptr) return 0;
    REQUIRE((length == 4 || length == 8));
    return cells_at(value, 0, length / 4);
}

std::string string_prop(const void* fdt, int node, const char* name, bool* present = nullptr) {
    int length = 0;
    const auto* value = static_cast<const char*>(fdt_getprop(fdt, node, name, &length));
    if (present) *present = value != nullptr;
    return value == nullptr ? std::string() : std::string(value);
}

std::string raw_prop(const void* fdt, int node, const char* name) {
    int length = 0;
    const void* value = fdt_getprop(fdt, node, name, &length);
    return value == nullptr ? std::string() : hex(value, static_cast<std::size_t>(length));
}

bool okay(const void* fdt, int node) {
    bool present = false;
    const std::string status = string_prop(fdt, node, "status", &present);
    return !present || status == "okay" || status == "ok";
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> reg_pairs(const void* fdt, int node, int parent,
                                                               const char* name = "reg") {
    const int ac = fdt_address_cells(fdt, parent);
    const int sc = fdt_size_cells(fdt, parent);
    REQUIRE(ac >= 0);
    REQUIRE(sc >= 0);
    int length = 0;
    const void* value = fdt_getprop(fdt, node, name, &length);
    std::vector<std::pair<std::uint64_t, std::uint64_t>> pairs;
    if (value == nullptr) return pairs;
    const int stride = ac + sc;
    REQUIRE(stride > 0);
    for (int i = 0; (i + stride) * 4 <= length; i += stride)
        pairs.emplace_back(cells_at(value, i, ac), cells_at(value, i + ac, sc));
    return pairs;
}

Expected libfdt_machine(const void* fdt) {
    Expected out;
    for (int i = 0; i < fdt_num_mem_rsv(fdt); ++i) {
        uint64_t address = 0, size = 0;
        REQUIRE(fdt_get_mem_rsv(fdt, i, &address, &size) == 0);
        out.reserved.push_back({address, size, "", false});
    }
    int node = 0;
    fdt_for_each_subnode(node, fdt, 0) {
        if (string_prop(fdt, node, "device_type") != "memory" || !okay(fdt, node)) continue;
        for (auto [base, size] : reg_pairs(fdt, node, 0)) out.memory.push_back({base, size, fdt_get_name(fdt, node, nullptr)});
    }
    const int reserved = fdt_path_offset(fdt, "/reserved-memory");
    if (reserved >= 0) {
        fdt_for_each_subnode(node, fdt, reserved) {
            if (!okay(fdt, node)) continue;
            const bool no_map = fdt_getprop(fdt, node, "no-map", nullptr) != nullptr;
            const std::string name = fdt_get_name(fdt, node, nullptr);
            if (fdt_getprop(fdt, node, "reg", nullptr) != nullptr) {
                for (auto [base, size] : reg_pairs(fdt, node, reserved)) out.reserved.push_back({base, size, name, no_map});
            } else {
                out.dynamic.push_back({name, int_prop(fdt, node, "size"), int_prop(fdt, node, "alignment"), no_map,
                                       raw_prop(fdt, node, "alloc-ranges")});
            }
        }
    }
    const int cpus = fdt_path_offset(fdt, "/cpus");
    if (cpus >= 0) {
        out.timebase = int_prop(fdt, cpus, "timebase-frequency");
        fdt_for_each_subnode(node, fdt, cpus) {
            if (string_prop(fdt, node, "device_type") != "cpu") continue;
            HartRef hart;
            const auto reg = reg_pairs(fdt, node, cpus);
            REQUIRE(!reg.empty());
            hart.id = reg[0].first;
            bool has_status = false;
            hart.status = string_prop(fdt, node, "status", &has_status);
            if (!has_status || hart.status == "ok") hart.status = "okay";
            hart.mmu = string_prop(fdt, node, "mmu-type", &hart.has_mmu);
            hart.isa = string_prop(fdt, node, "riscv,isa");
            hart.extensions = raw_prop(fdt, node, "riscv,isa-extensions");
            hart.timebase = fdt_getprop(fdt, node, "timebase-frequency", nullptr) != nullptr
                                ? int_prop(fdt, node, "timebase-frequency")
                                : out.timebase;
            hart.phandle = fdt_get_phandle(fdt, node);
            hart.node = fdt_get_name(fdt, node, nullptr);
            out.harts.push_back(hart);
        }
    }
    const int chosen = fdt_path_offset(fdt, "/chosen");
    if (chosen >= 0) {
        out.bootargs = string_prop(fdt, chosen, "bootargs", &out.has_bootargs);
        out.rng_seed = raw_prop(fdt, chosen, "rng-seed");
        out.stdout_path = string_prop(fdt, chosen, "stdout-path");
        out.has_initrd = fdt_getprop(fdt, chosen, "linux,initrd-start", nullptr) != nullptr;
        out.initrd_start = int_prop(fdt, chosen, "linux,initrd-start");
        out.initrd_end = int_prop(fdt, chosen, "linux,initrd-end");
        out.has_boot_hartid = fdt_getprop(fdt, chosen, "boot-hartid", nullptr) != nullptr;
        out.boot_hartid = int_prop(fdt, chosen, "boot-hartid");
    }
    int depth = 0;
    for (node = 0; node >= 0 && depth >= 0; node = fdt_next_node(fdt, node, &depth)) {
        int length = 0;
        const char* compatible = static_cast<const char*>(fdt_getprop(fdt, node, "compatible", &length));
        if (compatible == nullptr || (fdt_stringlist_contains(compatible, length, "sifive,test0") == 0 &&
                                      fdt_stringlist_contains(compatible, length, "sifive,test1") == 0))
            continue;
        const auto reg = reg_pairs(fdt, node, fdt_parent_offset(fdt, node));
        REQUIRE(!reg.empty());
        out.has_test = true;
        out.test = reg[0].first;
        break;
    }
    return out;
}

// ---- comparison --------------------------------------------------------------

std::string view_hex(std::string_view text) { return hex(text.data(), text.size()); }

void compare_machine(const MachineInfo& info, const Expected& want, std::size_t blob_size) {
    CHECK(info.fdt_size == blob_size);
    std::vector<Range> memory;
    for (const MemoryRange& m : info.memory)
        memory.push_back({m.range.begin().value(), m.range.size(), std::string(m.node)});
    CHECK(memory == want.memory);
    std::vector<Range> reserved;
    for (const ReservedRange& r : info.reserved)
        reserved.push_back({r.range.begin().value(), r.range.size(), std::string(r.node), r.no_map});
    CHECK(reserved == want.reserved);
    std::vector<Dynamic> dynamic;
    for (const DynamicReservation& d : info.dynamic_reservations) {
        std::string ranges;
        for (RegEntry e : d.alloc_ranges) {
            // Re-encode in the parent's cells to compare with the raw bytes.
            const auto put = [&](std::uint64_t value, std::uint32_t count) {
                for (std::uint32_t i = count; i > 0; --i) {
                    const auto word = static_cast<std::uint32_t>(value >> (32 * (i - 1)));
                    const fdt32_t be = cpu_to_fdt32(word);
                    ranges += hex(&be, 4);
                }
            };
            put(e.address, d.alloc_ranges.cells().address);
            put(e.size, d.alloc_ranges.cells().size);
        }
        dynamic.push_back({std::string(d.node), d.size, d.alignment, d.no_map, ranges});
    }
    CHECK(dynamic == want.dynamic);
    std::vector<HartRef> harts;
    for (const Hart& h : info.harts) {
        HartRef ref{h.hart_id,         std::string(describe(h.status)), h.has_mmu_type,
                    std::string(h.mmu_type), std::string(h.isa),       view_hex(h.isa_extensions.raw()),
                    h.timebase_frequency,    h.phandle,                std::string(h.node)};
        harts.push_back(ref);
    }
    REQUIRE(harts.size() == want.harts.size());
    for (std::size_t i = 0; i < harts.size(); ++i) {
        CAPTURE(i);
        CHECK(harts[i].id == want.harts[i].id);
        CHECK(harts[i] == want.harts[i]);
    }
    CHECK(info.timebase_frequency == want.timebase);
    CHECK(info.chosen.has_bootargs == want.has_bootargs);
    CHECK(std::string(info.chosen.bootargs) == want.bootargs);
    CHECK(hex(info.chosen.rng_seed.data(), info.chosen.rng_seed.size()) == want.rng_seed);
    CHECK(std::string(info.chosen.stdout_path) == want.stdout_path);
    CHECK(info.chosen.has_initrd == want.has_initrd);
    CHECK(info.chosen.has_boot_hartid == want.has_boot_hartid);
    CHECK(info.chosen.boot_hartid == want.boot_hartid);
    if (want.has_initrd) {
        CHECK(info.chosen.initrd.begin().value() == want.initrd_start);
        CHECK(info.chosen.initrd.end().value() == want.initrd_end);
    }
    CHECK(info.has_test_device == want.has_test);
    if (want.has_test) CHECK(info.test_device.value() == want.test);
}

void check_tree(const std::string& path) {
    CAPTURE(path);
    const std::vector<std::uint8_t> blob = read_file(path);
    REQUIRE(fdt_check_header(blob.data()) == 0);
    auto fdt = Fdt::create(Bytes(blob));
    REQUIRE(fdt);
    CHECK(reader_dump(*fdt) == libfdt_dump(blob.data()));
    static MachineInfo info;
    auto result = read_machine_info(*fdt, info);
    if (!result) {
        StringSink sink;
        result.error().format(sink);
        FAIL(sink.text);
    }
    compare_machine(info, libfdt_machine(blob.data()), fdt_totalsize(blob.data()));
    StringSink text;
    info.format(text);
    CHECK(text.text.find("harts: ") != std::string::npos);
}

const MachineInfo& machine_of(const std::string& basename, std::vector<std::uint8_t>& storage) {
    static MachineInfo info;
    for (const std::string& path : dts_trees()) {
        if (path.size() >= basename.size() && path.compare(path.size() - basename.size(), basename.size(), basename) == 0) {
            storage = read_file(path);
            auto result = read_machine_info(Bytes(storage), info);
            REQUIRE(result);
            return info;
        }
    }
    FAIL("corpus lacks " << basename);
    return info;
}

}  // namespace

TEST_CASE("QEMU's device trees: reader equals libfdt") {
    const auto trees = qemu_trees();
    if (std::getenv("FDT_QEMU_LIST") != nullptr) CHECK(trees.size() >= 20);
    for (const std::string& path : trees) check_tree(path);
    MESSAGE(trees.size() << " QEMU trees compared");
}

TEST_CASE("dts corpus: reader equals libfdt") {
    const auto trees = dts_trees();
    CHECK(trees.size() >= 3);
    for (const std::string& path : trees) check_tree(path);
}

// Expectations written from the .dts sources, so that a misreading shared by
// the reader and the libfdt extraction above still fails.
TEST_CASE("sparse_harts.dts as written") {
    std::vector<std::uint8_t> blob;
    const MachineInfo& info = machine_of("sparse_harts.dtb", blob);
    REQUIRE(info.harts.size() == 100);
    std::size_t disabled = 0, without_mmu = 0;
    for (std::size_t n = 0; n < info.harts.size(); ++n) {
        const Hart& hart = info.harts[n];
        CHECK(hart.hart_id == (n < 99 ? n * 11 : 0x1'0000'0005));
        CHECK(hart.phandle == n + 1);
        disabled += hart.status == Status::kDisabled;
        without_mmu += !hart.has_mmu_type;
        CHECK(hart.isa == "rv64imafdc_zicsr_zifencei");
        CHECK(hart.isa_extensions.count() == (n % 4 == 0 ? 8u : 0u));
        CHECK(hart.timebase_frequency == (n == 42 ? 12'500'000u : 10'000'000u));
    }
    CHECK(disabled == 14);
    CHECK(without_mmu == 10);
    CHECK(info.harts[4].mmu_type.empty());
    CHECK(info.harts[2].mmu_type == "riscv,sv57");
    CHECK(info.harts[0].isa_extensions.contains("zifencei"));
    CHECK(info.find_hart(1078) != nullptr);
    CHECK(info.find_hart(1089) == nullptr);
    CHECK(info.has_test_device);
    CHECK(info.test_device.value() == 0x10'0000);
}

TEST_CASE("many_memory.dts as written") {
    std::vector<std::uint8_t> blob;
    const MachineInfo& info = machine_of("many_memory.dtb", blob);
    CHECK(info.memory.size() == 40 + 8 + 1);
    CHECK(info.memory[0].range.begin().value() == 0x1'0000'0000);
    CHECK(info.memory[0].range.size() == 0x1000'0000);
    CHECK(info.memory[1].range.begin().value() == 0x1'2000'0000);
    CHECK(info.memory[info.memory.size() - 1].range.begin().value() == 0x8000'0000);
    for (const MemoryRange& m : info.memory) CHECK(m.node != "memory@f0000000");
    REQUIRE(info.reserved.size() == 3 + 1 + 2);
    CHECK(info.reserved[1].range.begin().value() == 0x10'0000'0000);
    CHECK(info.reserved[3].no_map);
    CHECK(info.reserved[3].node == "mmode_resv0@80000000");
    CHECK_FALSE(info.reserved[4].no_map);
    CHECK(info.reserved[5].range.begin().value() == 0x9100'0000);
    REQUIRE(info.dynamic_reservations.size() == 2);
    CHECK(info.dynamic_reservations[0].node == "cma");
    CHECK(info.dynamic_reservations[0].size == 0x400'0000);
    CHECK(info.dynamic_reservations[0].alignment == 0x40'0000);
    REQUIRE(info.dynamic_reservations[0].alloc_ranges.size() == 2);
    CHECK(info.dynamic_reservations[0].alloc_ranges[1] == RegEntry{0x1'0000'0000, 0x1'0000'0000});
    CHECK(info.dynamic_reservations[1].node == "dsp-pool");
    CHECK(info.dynamic_reservations[1].no_map);
    CHECK(info.chosen.bootargs == "root=\"/dev/vda 1\" init=C:\\x\\y lang=\xc3\xa9\xc3\xa8\xe2\x98\x83 tab=\t end");
    CHECK(info.chosen.rng_seed.size() == 16);
    CHECK(info.chosen.rng_seed[15] == 0xff);
    CHECK(info.chosen.initrd.begin().value() == 0x1'2000'0000);
    CHECK(info.chosen.initrd.end().value() == 0x1'2080'0000);
    CHECK(info.timebase_frequency == 10'000'000);
    CHECK_FALSE(info.has_test_device);
}

TEST_CASE("cells1.dts as written") {
    std::vector<std::uint8_t> blob;
    const MachineInfo& info = machine_of("cells1.dtb", blob);
    REQUIRE(info.memory.size() == 3);
    CHECK(info.memory[1].range.begin().value() == 0x9000'0000);
    CHECK(info.memory[2].range.size() == 0x1000);
    REQUIRE(info.reserved.size() == 3);
    CHECK(info.reserved[0].source == ReservationSource::kMemReserve);
    CHECK(info.reserved[1].no_map);
    CHECK(info.chosen.initrd.begin().value() == 0x8400'0000);
    CHECK(info.chosen.initrd.end().value() == 0x8410'0000);
    CHECK(info.chosen.stdout_path == "/soc/uart@10000000:115200n8");
    CHECK(info.chosen.has_boot_hartid);
    CHECK(info.chosen.boot_hartid == 3);
    REQUIRE(info.harts.size() == 2);
    CHECK(info.harts[1].status == Status::kOkay);  // written as "ok"
    CHECK(info.test_device.value() == 0x10'0000);
}

TEST_CASE("version 16 tree equals its version 17 twin") {
    std::vector<std::uint8_t> blob16, blob17;
    std::string v16, v17;
    for (const std::string& path : dts_trees()) {
        if (path.ends_with("cells1-v16.dtb")) v16 = path;
        if (path.ends_with("/cells1.dtb")) v17 = path;
    }
    REQUIRE(!v16.empty());
    REQUIRE(!v17.empty());
    blob16 = read_file(v16);
    blob17 = read_file(v17);
    auto a = Fdt::create(Bytes(blob16));
    auto b = Fdt::create(Bytes(blob17));
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->header().version == 16);
    CHECK(b->header().version == 17);
    CHECK(reader_dump(*a) == reader_dump(*b));
}
