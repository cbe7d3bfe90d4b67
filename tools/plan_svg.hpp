#pragma once
// loader-plan --svg: the physical address space (left) and the kernel's
// virtual address space (right) as two columns of labelled blocks, coloured
// by kind, with bands from virtual areas to the frames behind them.
//
// Address spaces are huge and sparse (a 4 KiB BootInfo next to 2 GiB of RAM,
// both halves of a 2^64 space), so the scale is piecewise: every block gets
// a height that grows with log2 of its size from a minimum that fits its
// two label lines, and every hole between blocks becomes a fixed-height
// break marker that states the hole's size. Within a block the scale is
// linear, which is what the bands use to find a frame's position.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "loader_api/plan.hpp"
#include "plan_context.hpp"
#include "plan_report.hpp"
#include "tool_text.hpp"

namespace loader_plan {

namespace svg_detail {

// More allocations than this inside one memory region, or more harts than
// this, and they are drawn as one block: a picture with 64 stack blocks is
// not readable at a glance; the report lists them one by one.
inline constexpr std::size_t kMaxPiecesPerRegion = 8;
inline constexpr std::size_t kMaxStacksDrawn = 6;

inline constexpr double kBlockMin = 30;     // two label lines
inline constexpr double kBlockPerDoubling = 5;
inline constexpr double kBreak = 22;        // a compressed hole
inline constexpr double kTop = 150;         // title and legend above

inline constexpr double kWidth = 1400;
inline constexpr double kPhysLeft = 340, kPhysRight = 540;
inline constexpr double kVirtLeft = 860, kVirtRight = 1060;

struct Style {
    std::string_view key;
    std::string_view name;
    std::string_view fill;
};

// One colour per BootInfo region kind, and for the virtual-only kinds.
inline constexpr Style kStyles[] = {
    {"Usable", "Usable RAM", "#d8efd3"},
    {"Reserved", "Reserved (firmware)", "#9e9e9e"},
    {"Kernel", "Kernel", "#e57373"},
    {"KernelStack", "Kernel stack", "#ffb74d"},
    {"Tls", "TLS", "#ba68c8"},
    {"PageTables", "Page tables", "#4fc3f7"},
    {"BootInfo", "BootInfo", "#fff176"},
    {"Fdt", "Device tree", "#a1887f"},
    {"Initrd", "Initrd", "#90a4ae"},
    {"LoaderReclaimable", "Loader reclaimable", "#c5cae9"},
    {"UsableUnmapped", "Usable RAM beyond the physmap", "#eef7ec"},
    {"EfiRuntimeCode", "EFI runtime code", "#6d4c41"},
    {"EfiRuntimeData", "EFI runtime data", "#8d6e63"},
    {"physmap", "Physmap (virtual)", "#b2dfdb"},
    {"guard", "Guard page (unmapped)", "#ffffff"},
};

// A kind added to the protocol must bring its colour.
constexpr bool every_region_kind_has_a_style() {
    for (std::uint32_t value = 1; value <= loader_api::kMemoryRegionKindLast; ++value) {
        const std::string_view name = loader_api::to_string(static_cast<loader_api::MemoryRegionKind>(value));
        bool found = false;
        for (const Style& style : kStyles) found = found || style.key == name;
        if (!found) return false;
    }
    return true;
}
static_assert(every_region_kind_has_a_style());

inline std::string_view fill_of(std::string_view key) {
    for (const Style& style : kStyles)
        if (style.key == key) return style.fill;
    return "#eeeeee";
}

inline std::string escape(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            default:
                // Node names come from the device tree: keep the XML valid
                // whatever bytes they hold.
                if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) out += '?';
                else out += c;
        }
    }
    return out;
}

inline std::string number(double value) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.1f", value);
    return buffer;
}

// A block of one column: [begin, end) in that column's address space.
struct Block {
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
    std::string style;   // a kStyles key
    std::string title;
    bool dashed = false;  // unmapped
    double top = 0;
    double height = 0;
};

// A break drawn between two blocks.
struct Break {
    std::uint64_t size = 0;
    double top = 0;
};

struct Column {
    std::vector<Block> blocks;  // sorted, disjoint
    std::vector<Break> breaks;
    double bottom = 0;

    void lay_out(double top) {
        double y = top;
        for (std::size_t i = 0; i < blocks.size(); ++i) {
            if (i != 0 && blocks[i].begin != blocks[i - 1].end) {
                breaks.push_back({blocks[i].begin - blocks[i - 1].end, y});
                y += kBreak;
            }
            const std::uint64_t pages = std::max<std::uint64_t>((blocks[i].end - blocks[i].begin) / kmem::kPageSize, 1);
            blocks[i].top = y;
            blocks[i].height = kBlockMin + kBlockPerDoubling * std::log2(static_cast<double>(pages));
            y += blocks[i].height;
        }
        bottom = y;
    }

    // The y of an address inside a block (linear there); `end` addresses
    // (one past) map to the bottom of the block they close.
    bool y_of(std::uint64_t address, bool is_end, double& y) const {
        for (const Block& block : blocks) {
            const bool inside = is_end ? (address > block.begin && address <= block.end)
                                       : (address >= block.begin && address < block.end);
            if (!inside) continue;
            const double fraction = static_cast<double>(address - block.begin) / static_cast<double>(block.end - block.begin);
            y = block.top + fraction * block.height;
            return true;
        }
        return false;
    }
};

inline std::string kind_key(loader_api::MemoryRegionKind kind) { return std::string(loader_api::to_string(kind)); }

// Regions of the memory map, split where the allocations inside tell more
// (which stack, which segment, the loader's text and data).
inline Column physical_column(const loader_api::Plan& plan) {
    Column column;
    for (const auto& region : plan.regions) {
        struct Piece {
            std::uint64_t begin, end;
            std::string title;
            std::uint64_t whole;  // the allocation's size, unclipped
        };
        std::vector<Piece> pieces;
        for (const auto& allocation : plan.allocations) {
            const std::uint64_t begin = std::max(kmem::align_down(allocation.range.begin().value(), kmem::kPageSize), region.range.begin);
            const std::uint64_t end =
                std::min(kmem::align_up(allocation.range.end().value(), kmem::kPageSize).value_or(~std::uint64_t{0} - 4095),
                         region.range.end);
            if (begin >= end || allocation.kind != region.kind) continue;
            pieces.push_back({begin, end, allocation_label(allocation), allocation.range.size()});
        }
        std::sort(pieces.begin(), pieces.end(), [](const Piece& a, const Piece& b) { return a.begin < b.begin; });
        const std::string key = kind_key(region.kind);
        const std::string kind_name(loader_api::to_string(region.kind));
        if (pieces.size() > kMaxPiecesPerRegion) {
            column.blocks.push_back({region.range.begin, region.range.end, key,
                                     kind_name + " (" + dec(pieces.size()) + " allocations)", false, 0, 0});
            continue;
        }
        // Allocations nest (the kernel file lies inside the loader's text):
        // each stretch between two piece boundaries is named after the
        // smallest piece holding it, or the region's kind when none does;
        // neighbours with one name make one block.
        std::vector<std::uint64_t> cuts{region.range.begin, region.range.end};
        for (const Piece& piece : pieces) {
            cuts.push_back(piece.begin);
            cuts.push_back(piece.end);
        }
        std::sort(cuts.begin(), cuts.end());
        cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
        for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
            const Piece* holder = nullptr;
            for (const Piece& piece : pieces)
                if (piece.begin <= cuts[i] && cuts[i + 1] <= piece.end &&
                    (holder == nullptr || piece.whole < holder->whole))
                    holder = &piece;
            const std::string title = holder != nullptr ? holder->title : kind_name;
            Block* last = column.blocks.empty() ? nullptr : &column.blocks.back();
            if (last != nullptr && last->end == cuts[i] && last->style == key && last->title == title) last->end = cuts[i + 1];
            else column.blocks.push_back({cuts[i], cuts[i + 1], key, title, false, 0, 0});
        }
    }
    return column;
}

inline std::string area_style(const loader_api::VirtualArea& area) {
    switch (area.kind) {
        case loader_api::AreaKind::Physmap: return "physmap";
        case loader_api::AreaKind::Kernel: return "Kernel";
        case loader_api::AreaKind::Stack: return "KernelStack";
        case loader_api::AreaKind::Guard: return "guard";
        case loader_api::AreaKind::Identity: return "LoaderReclaimable";
    }
    return "";
}

// Areas in address order; with many harts the stacks and guards become one
// block per run of them.
inline Column virtual_column(const loader_api::Plan& plan) {
    Column column;
    std::size_t stacks = 0;
    for (const auto& area : plan.areas) stacks += area.kind == loader_api::AreaKind::Stack;
    const bool group = stacks > kMaxStacksDrawn;
    for (const auto& area : plan.areas) {
        const bool stackish = area.kind == loader_api::AreaKind::Stack || area.kind == loader_api::AreaKind::Guard;
        if (group && stackish) {
            Block* last = column.blocks.empty() ? nullptr : &column.blocks.back();
            if (last != nullptr && last->style == "KernelStack" && last->end == area.range.begin().value()) {
                last->end = area.range.end().value();
                continue;
            }
            column.blocks.push_back({area.range.begin().value(), area.range.end().value(), "KernelStack",
                                     "stacks of " + dec(stacks) + " harts, a guard page below each", false, 0, 0});
            continue;
        }
        std::string title = area_label(area);
        if (area.mapped) title += " " + flags_text(area.flags, true);
        column.blocks.push_back(
            {area.range.begin().value(), area.range.end().value(), area_style(area), title, !area.mapped, 0, 0});
    }
    return column;
}

inline void draw_break(std::string& out, double left, double right, const Break& gap, bool label_left) {
    const double middle = gap.top + kBreak / 2;
    // Two zigzags: the conventional "axis cut" mark.
    for (double offset : {-3.0, 3.0}) {
        std::string points;
        int step = 0;
        for (double x = left - 6; x <= right + 6; x += 10, ++step)
            points += number(x) + "," + number(middle + offset + (step % 2 == 0 ? -3 : 3)) + " ";
        out += "<polyline points=\"" + points + "\" fill=\"none\" stroke=\"#666\" stroke-width=\"1.2\"/>\n";
    }
    const std::string text = "gap of ~" + approx_size(gap.size);
    if (label_left)
        out += "<text x=\"" + number(left - 12) + "\" y=\"" + number(middle + 4) +
               "\" text-anchor=\"end\" class=\"gap\">" + escape(text) + "</text>\n";
    else
        out += "<text x=\"" + number(right + 12) + "\" y=\"" + number(middle + 4) + "\" class=\"gap\">" + escape(text) +
               "</text>\n";
}

inline void draw_column(std::string& out, const Column& column, double left, double right, bool label_left) {
    for (const Block& block : column.blocks) {
        out += "<rect x=\"" + number(left) + "\" y=\"" + number(block.top) + "\" width=\"" + number(right - left) +
               "\" height=\"" + number(block.height) + "\" fill=\"" + std::string(fill_of(block.style)) +
               "\" stroke=\"#333\" stroke-width=\"0.8\"" + (block.dashed ? " stroke-dasharray=\"4 3\"" : "") + "/>\n";
        const double x = label_left ? left - 10 : right + 10;
        const char* anchor = label_left ? "end" : "start";
        const std::string title = block.title + ": " + readable_size(block.end - block.begin);
        const std::string range = "[" + hex(block.begin) + ", " + hex(block.end) + ")";
        const double middle = block.top + block.height / 2;
        out += "<text x=\"" + number(x) + "\" y=\"" + number(middle - 2) + "\" text-anchor=\"" + anchor +
               "\" class=\"title\">" + escape(title) + "</text>\n";
        out += "<text x=\"" + number(x) + "\" y=\"" + number(middle + 11) + "\" text-anchor=\"" + anchor +
               "\" class=\"range\">" + escape(range) + "</text>\n";
        // A tick joining label and block, so each label points at its block.
        const double edge = label_left ? left : right;
        out += "<line x1=\"" + number(edge) + "\" y1=\"" + number(middle) + "\" x2=\"" +
               number(label_left ? edge - 6 : edge + 6) + "\" y2=\"" + number(middle) +
               "\" stroke=\"#333\" stroke-width=\"0.8\"/>\n";
    }
    for (const Break& gap : column.breaks) draw_break(out, left, right, gap, label_left);
}

// A band from a virtual range to the physical range behind it.
inline void draw_band(std::string& out, const Column& physical, const Column& virtual_, std::uint64_t va_begin,
                      std::uint64_t va_end, std::uint64_t pa_begin, std::uint64_t pa_end, std::string_view fill,
                      double opacity) {
    double v0 = 0, v1 = 0, p0 = 0, p1 = 0;
    if (!virtual_.y_of(va_begin, false, v0) || !virtual_.y_of(va_end, true, v1)) return;
    if (!physical.y_of(pa_begin, false, p0) || !physical.y_of(pa_end, true, p1)) return;
    // At least a visible sliver at both ends.
    if (p1 - p0 < 2) p1 = p0 + 2;
    if (v1 - v0 < 2) v1 = v0 + 2;
    const double bend = (kVirtLeft - kPhysRight) / 2;
    const std::string a = number(kPhysRight), b = number(kVirtLeft);
    out += "<path d=\"M" + a + "," + number(p0) + " C" + number(kPhysRight + bend) + "," + number(p0) + " " +
           number(kVirtLeft - bend) + "," + number(v0) + " " + b + "," + number(v0) + " L" + b + "," + number(v1) + " C" +
           number(kVirtLeft - bend) + "," + number(v1) + " " + number(kPhysRight + bend) + "," + number(p1) + " " + a +
           "," + number(p1) + " Z\" fill=\"" + std::string(fill) + "\" fill-opacity=\"" + number(opacity) +
           "\" stroke=\"#555\" stroke-opacity=\"0.6\" stroke-width=\"0.6\"/>\n";
}

}  // namespace svg_detail

inline std::string svg(const Context& context) {
    using namespace svg_detail;
    const loader_api::Plan& plan = *context.plan;
    Column physical = physical_column(plan);
    Column virtual_ = virtual_column(plan);
    physical.lay_out(kTop);
    virtual_.lay_out(kTop);
    const double height = std::max(physical.bottom, virtual_.bottom) + 40;

    std::string out;
    out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + number(kWidth) + "\" height=\"" + number(height) +
           "\" viewBox=\"0 0 " + number(kWidth) + " " + number(height) + "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n";
    out += "<style>.title{font-size:11px;fill:#111}.range{font-size:10px;fill:#444;font-family:'DejaVu Sans Mono',monospace}"
           ".gap{font-size:10px;fill:#666;font-style:italic}.head{font-size:15px;font-weight:bold}"
           ".legend{font-size:11px}.sub{font-size:12px;fill:#333}</style>\n";
    out += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";

    std::string summary = std::string(kmem::name(plan.mode)) + ", kernel slide " + hex(plan.kaslr_slide) +
                          (plan.kaslr ? " (KASLR)" : " (not randomised)") + ", " + dec(plan.harts.size()) + " harts, " +
                          dec(plan.stats.table_frames) + " page-table frames";
    out += "<text x=\"20\" y=\"28\" class=\"head\">loader-plan: " + escape(context.dtb_path) + " + " +
           escape(context.kernel_path) + "</text>\n";
    out += "<text x=\"20\" y=\"48\" class=\"sub\">" + escape(summary) + "</text>\n";

    // Legend: two rows of swatches.
    double x = 20, y = 70;
    auto used = [&](std::string_view key) {
        for (const Column* column : {&physical, &virtual_})
            for (const Block& block : column->blocks)
                if (block.style == key) return true;
        return false;
    };
    for (const Style& style : kStyles) {
        if (!used(style.key)) continue;
        if (x > kWidth - 200) {
            x = 20;
            y += 20;
        }
        out += "<rect x=\"" + number(x) + "\" y=\"" + number(y) + "\" width=\"14\" height=\"14\" fill=\"" +
               std::string(style.fill) + "\" stroke=\"#333\" stroke-width=\"0.8\"" +
               (style.key == "guard" ? " stroke-dasharray=\"3 2\"" : "") + "/>\n";
        out += "<text x=\"" + number(x + 20) + "\" y=\"" + number(y + 11) + "\" class=\"legend\">" +
               escape(style.name) + "</text>\n";
        x += 200;
    }

    std::uint64_t ram = 0;
    for (const auto& region : plan.regions) ram += region.range.size();
    out += "<text x=\"" + number(kPhysLeft) + "\" y=\"" + number(kTop - 14) + "\" class=\"head\">Physical (RAM " +
           escape(readable_size(ram)) + ")</text>\n";
    out += "<text x=\"" + number(kVirtLeft) + "\" y=\"" + number(kTop - 14) + "\" class=\"head\">Virtual (" +
           std::string(kmem::name(plan.mode)) + ")</text>\n";

    // Bands first, so blocks and labels are drawn over them. The physmap
    // covers all of RAM: a faint band; kernel pieces and stacks: solid.
    if (!plan.regions.empty()) {
        const std::uint64_t first = plan.regions[0].range.begin;
        // One band per RAM range: the regions of a range touch.
        std::uint64_t run_begin = first, run_end = first;
        auto flush = [&] {
            if (run_end > run_begin)
                draw_band(out, physical, virtual_, run_begin + plan.physmap_offset, run_end + plan.physmap_offset,
                          run_begin, run_end, fill_of("physmap"), 0.35);
        };
        for (const auto& region : plan.regions) {
            if (region.range.begin != run_end) {
                flush();
                run_begin = region.range.begin;
            }
            run_end = region.range.end;
        }
        flush();
    }
    for (const auto& area : plan.areas) {
        if (!area.mapped || area.kind == loader_api::AreaKind::Physmap) continue;
        const std::uint64_t size = area.range.size();
        draw_band(out, physical, virtual_, area.range.begin().value(), area.range.end().value(), area.physical.value(),
                  area.physical.value() + size, fill_of(area_style(area)), 0.55);
    }

    draw_column(out, physical, kPhysLeft, kPhysRight, true);
    draw_column(out, virtual_, kVirtLeft, kVirtRight, false);
    out += "</svg>\n";
    return out;
}

}  // namespace loader_plan
