// docs/protocol.md's layout tables against the reflected layout: every field
// of every ABI type (nested fields flattened with dotted names and absolute
// offsets) must have exactly one row `| `name` | offset | size | ... |`
// under the heading `### Type`, and no row may name a field that does not
// exist. With LOADER_API_PRINT_TABLES set, prints the rows to paste.

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>

#include <doctest/doctest.h>

#include "loader_api/reflect.hpp"

using namespace loader_api;
namespace r = loader_api::reflect;

namespace {

using Rows = std::set<std::string>;

template <r::Reflected T>
void flatten(Rows& rows, const std::string& prefix, std::size_t base) {
    r::for_each_field_type<T>([&]<class M>(const r::FieldLayout& field, M*) {
        const std::string name = prefix + std::string(field.name);
        const std::size_t offset = base + field.offset;
        if constexpr (r::Reflected<M>) {
            flatten<M>(rows, name + ".", offset);
        } else {
            rows.insert("| `" + name + "` | " + std::to_string(offset) + " | " + std::to_string(field.size) + " |");
        }
    });
}

template <r::Reflected T>
Rows rows_of() {
    Rows rows;
    flatten<T>(rows, "", 0);
    return rows;
}

std::map<std::string, Rows> expected_tables() {
    return {
        {"BootInfo", rows_of<BootInfo>()},
        {"HartInfo", rows_of<HartInfo>()},
        {"MemoryRegion", rows_of<MemoryRegion>()},
        {"KernelSegment", rows_of<KernelSegment>()},
        {"LoaderConfig", rows_of<LoaderConfig>()},
    };
}

// Rows of the doc: lines starting with "| `", cut after the third '|'.
std::map<std::string, Rows> documented_tables(const std::string& path) {
    std::ifstream file(path);
    REQUIRE_MESSAGE(file.good(), "cannot read ", path);
    std::map<std::string, Rows> tables;
    std::string line, section;
    while (std::getline(file, line)) {
        // Only rows under "### Type" count; any other heading ends the table.
        if (line.starts_with("#")) section = line.starts_with("### ") ? line.substr(4) : "";
        if (!line.starts_with("| `")) continue;
        std::size_t bars = 0, cut = 0;
        for (; cut < line.size() && bars < 4; ++cut) bars += line[cut] == '|';
        std::string row = line.substr(0, cut);
        CHECK_MESSAGE(tables[section].insert(row).second, "row listed twice: ", row);
    }
    return tables;
}

}  // namespace

TEST_CASE("docs/protocol.md layout tables match the headers") {
    const auto expected = expected_tables();
    if (std::getenv("LOADER_API_PRINT_TABLES") != nullptr) {
        for (const auto& [type, rows] : expected) {
            std::cout << "### " << type << "\n";
            for (const auto& row : rows) std::cout << row << "\n";
        }
    }
    const auto documented = documented_tables(PROTOCOL_MD);
    for (const auto& [type, rows] : expected) {
        CAPTURE(type);
        REQUIRE_MESSAGE(documented.count(type) == 1, "no table under ### ", type);
        const Rows& doc = documented.at(type);
        for (const auto& row : rows) CHECK_MESSAGE(doc.count(row) == 1, "missing or wrong in the doc: ", row);
        for (const auto& row : doc) CHECK_MESSAGE(rows.count(row) == 1, "the doc lists what the header lacks: ", row);
    }
}

TEST_CASE("every documented size and offset is also a static_assert") {
    // boot_info.hpp and loader_config.hpp assert the numbers at compile time;
    // here the same numbers come from reflection, closing the loop.
    CHECK(sizeof(BootInfo) == 312);
    CHECK(kBootInfoFixedSizeV1_0 == 280);
    CHECK(sizeof(HartInfo) == 48);
    CHECK(sizeof(MemoryRegion) == 24);
    CHECK(sizeof(KernelSegment) == 32);
    CHECK(sizeof(LoaderConfig) == 56);
    static_assert(kAbiType<BootInfo> && kAbiType<HartInfo> && kAbiType<MemoryRegion> && kAbiType<KernelSegment> &&
                  kAbiType<LoaderConfig>);
}
