// libFuzzer target for the device tree reader: header checks, the full walk
// with a matcher that touches every property, MachineInfo, and the text of
// whatever comes out. Anything but an error value is a finding.
#include <cstddef>
#include <cstdint>

#include "loader_api/fdt.hpp"

namespace {

// Counts into a fixed buffer: formatting must not write past what it says.
struct NullSink {
    std::size_t count = 0;
    void put(char) { ++count; }
};

// Reads every property through every decoder that applies to it.
struct EveryProperty {
    std::uint64_t checksum = 0;
    loader_api::fdt::Result<void> property(const loader_api::fdt::Cursor& cursor,
                                           const loader_api::fdt::Property& prop) {
        using namespace loader_api::fdt;
        if (auto v = as_u32_or_u64(prop)) checksum += *v;
        if (auto s = as_string_list(prop))
            for (std::string_view part : *s) checksum += part.size();
        if (auto status = as_status(prop)) checksum += static_cast<std::uint64_t>(*status);
        if (auto reg = as_reg(prop, cursor.parent_cells()))
            for (RegEntry entry : *reg) checksum += entry.address ^ entry.size;
        return {};
    }
    constexpr loader_api::fdt::Result<loader_api::fdt::Interest> begin_node(const loader_api::fdt::Cursor&) {
        return loader_api::fdt::Interest::kAll;
    }
    constexpr loader_api::fdt::Result<void> end_properties(const loader_api::fdt::Cursor&) { return {}; }
    constexpr loader_api::fdt::Result<void> end_node(const loader_api::fdt::Cursor&) { return {}; }
};

loader_api::fdt::MachineInfo info;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace loader_api::fdt;
    NullSink sink;
    auto fdt = Fdt::create(Bytes(data, size));
    if (!fdt) {
        fdt.error().format(sink);
        return 0;
    }
    EveryProperty every;
    auto walked = walk(*fdt, every);
    if (!walked) walked.error().format(sink);
    auto result = read_machine_info(*fdt, info);
    if (result)
        info.format(sink);
    else
        result.error().format(sink);
    return 0;
}
