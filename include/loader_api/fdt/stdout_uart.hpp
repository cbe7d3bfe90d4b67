#pragma once
// The UART that /chosen/stdout-path names, when it is one a loader can drive
// without a driver model (Linux's earlycon does the same): ns16550-style
// ("ns16550a", "ns16550", "snps,dw-apb-uart") and "sifive,uart0". The
// firmware has set up its clock and baud rate; a writer only polls and stores.
//
// stdout-path is in /chosen, which may come before or after the UART's node,
// so the matcher keeps every UART it sees (by the hash of its path) and every
// /aliases entry, and resolve() looks the path up once the walk is over.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kmem/address.hpp"
#include "kmem/fixed_list.hpp"
#include "kmem/fnv1a.hpp"
#include "loader_api/fdt/decode.hpp"
#include "loader_api/fdt/reader.hpp"

namespace loader_api::fdt {

enum class UartKind : std::uint8_t { kNone, kNs16550, kSifive };

struct StdoutUart {
    UartKind kind = UartKind::kNone;  // kNone: no stdout-path, or it names something else
    kmem::PhysicalAddress base{};
    std::uint32_t reg_shift = 0;      // register i is at base + (i << reg_shift)
    std::uint32_t reg_io_width = 1;   // bytes per access: 1 or 4
    std::string_view node{};          // e.g. "serial@10000000"
};

constexpr std::string_view describe(UartKind kind) {
    switch (kind) {
        case UartKind::kNone: return "none";
        case UartKind::kNs16550: return "ns16550";
        case UartKind::kSifive: return "sifive,uart0";
    }
    return "?";
}

namespace detail {

// FNV-1a over a node path, fed by Cursor::write_path or by a path string.
struct PathHash {
    std::uint64_t value = kmem::kFnv1aBasis;
    constexpr void put(char c) { value = kmem::fnv1a(value, static_cast<std::uint8_t>(c)); }
};

constexpr std::uint64_t path_hash(std::string_view path) {
    PathHash hash;
    for (char c : path) hash.put(c);
    return hash.value;
}

// One pass over the list: every node's compatible comes through here.
constexpr UartKind uart_kind(const StringList& compatible) {
    for (std::string_view name : compatible) {
        if (name == "ns16550a" || name == "ns16550" || name == "snps,dw-apb-uart") return UartKind::kNs16550;
        if (name == "sifive,uart0") return UartKind::kSifive;
    }
    return UartKind::kNone;
}

class StdoutUartMatcher {
public:
    // A console candidate past these limits is not remembered: the worst
    // outcome is the SBI console instead of a direct one.
    static constexpr std::size_t kMaxUarts = 16;
    static constexpr std::size_t kMaxAliases = 32;

    // Any node may be a UART, or /aliases; but not /cpus or below it, which
    // holds cpu nodes only (devicetree spec 3.7, 3.8): skipping it keeps the
    // read's cost per hart down to what the cpu matcher needs.
    constexpr Result<Interest> begin_node(const Cursor& cursor) {
        if (cursor.is_top("cpus")) return Interest::kNone;
        // Field by field: every node of the tree comes through here, and a
        // whole NodeState{} was stored a byte at a time. base and node are
        // set when a UART is kept, reg is read only when present.
        node_.aliases = cursor.is_top("aliases");
        node_.uart.kind = UartKind::kNone;
        node_.uart.reg_shift = 0;
        node_.uart.reg_io_width = 1;
        node_.has_reg = false;
        node_.valid = true;
        return Interest::kAll;
    }

    Result<void> property(const Cursor&, const Property& prop) {
        if (node_.aliases) {
            // Not every alias is a path; only well-formed strings can match.
            if (auto value = as_string(prop)) (void)aliases_.push({prop.name, *value});
            return {};
        }
        if (prop.is("compatible")) {
            auto list = as_string_list(prop);
            node_.uart.kind = list ? uart_kind(*list) : UartKind::kNone;
        } else if (prop.is("reg")) {
            node_.reg = prop;
            node_.has_reg = true;
        } else if (prop.is("reg-shift")) {
            auto shift = as_u32(prop);
            node_.valid = node_.valid && shift && *shift < 8;
            if (shift) node_.uart.reg_shift = *shift;
        } else if (prop.is("reg-io-width")) {
            auto width = as_u32(prop);
            node_.valid = node_.valid && width && (*width == 1 || *width == 4);
            if (width) node_.uart.reg_io_width = *width;
        } else if (prop.is("status")) {
            auto status = as_status(prop);
            node_.valid = node_.valid && status && *status == Status::kOkay;
        }
        return {};
    }

    // A UART this matcher cannot use is skipped, not an error: the console
    // falls back to SBI, and the rest of the tree still boots.
    constexpr Result<void> end_properties(const Cursor& cursor) {
        // Most nodes are no UART: the test inline, the work out of line.
        if (node_.uart.kind == UartKind::kNone || !node_.valid || !node_.has_reg) return {};
        return keep_uart(cursor);
    }
    [[gnu::noinline]] constexpr Result<void> keep_uart(const Cursor& cursor) {
        auto reg = as_reg(node_.reg, cursor.parent_cells());
        if (!reg || reg->empty()) return {};
        node_.uart.base = kmem::PhysicalAddress((*reg)[0].address);
        node_.uart.node = cursor.name();
        PathHash hash;
        cursor.write_path(hash);
        (void)uarts_.push({hash.value, node_.uart});
        return {};
    }
    constexpr Result<void> end_node(const Cursor&) { return {}; }

    // stdout-path is a full path or an alias, either with ":options" after it.
    constexpr StdoutUart resolve(std::string_view stdout_path) const {
        std::string_view path = stdout_path.substr(0, stdout_path.find(':'));
        if (!path.empty() && path.front() != '/') {
            std::string_view target{};
            for (const Alias& alias : aliases_)
                if (alias.name == path) target = alias.path;
            path = target;
        }
        if (path.empty()) return {};
        const std::uint64_t wanted = path_hash(path);
        for (const Candidate& candidate : uarts_)
            if (candidate.path_hash == wanted) return candidate.uart;
        return {};
    }

private:
    struct NodeState {
        bool aliases = false;
        StdoutUart uart{};
        Property reg{};
        bool has_reg = false;
        bool valid = true;
    };
    struct Candidate {
        std::uint64_t path_hash = 0;
        StdoutUart uart{};
    };
    struct Alias {
        std::string_view name{};
        std::string_view path{};
    };

    NodeState node_{};
    kmem::FixedList<Candidate, kMaxUarts> uarts_{};
    kmem::FixedList<Alias, kMaxAliases> aliases_{};
};

}  // namespace detail
}  // namespace loader_api::fdt
