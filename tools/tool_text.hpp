#pragma once
// Host-only text helpers shared by loader-plan's outputs: a CharSink into a
// std::string (so every library formatter works unchanged), and a table
// with aligned columns.

#include <algorithm>
#include <cstdio>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kmem/format.hpp"
#include "loader_api/host/text.hpp"

namespace loader_plan {

struct StringSink {
    std::string* out;
    void put(char c) { out->push_back(c); }
};
static_assert(kmem::CharSink<StringSink>);

// Whatever has a format(CharSink&), as one string.
using loader_api::host::text_of;

inline std::string hex(std::uint64_t value) {
    std::string out;
    StringSink sink{&out};
    kmem::write_hex(sink, value);
    return out;
}

inline std::string size_text(std::uint64_t bytes) {
    std::string out;
    StringSink sink{&out};
    kmem::write_size(sink, bytes);
    return out;
}

inline std::string dec(std::uint64_t value) { return std::to_string(value); }

// A size rounded to one decimal in the largest unit that keeps it >= 1.
inline std::string approx_size(std::uint64_t bytes) {
    constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double value = static_cast<double>(bytes);
    int unit = 0;
    while (value >= 1024 && unit < 6) {
        value /= 1024;
        ++unit;
    }
    char buffer[32];
    if (value == static_cast<double>(static_cast<std::uint64_t>(value)))
        std::snprintf(buffer, sizeof buffer, "%.0f %s", value, kUnits[unit]);
    else
        std::snprintf(buffer, sizeof buffer, "%.1f %s", value, kUnits[unit]);
    return buffer;
}

// kmem::write_size, exact ("2 MiB", "5326 B"); where that is a long number
// ("1042212 KiB") the rounded size follows in parentheses ("(~1017.8 MiB)").
inline std::string readable_size(std::uint64_t bytes) {
    const std::string exact = size_text(bytes);
    if (exact.find(' ') <= 4) return exact;
    return exact + " (~" + approx_size(bytes) + ")";
}

// Rows of cells printed with every column as wide as its widest cell.
class Table {
public:
    enum class Align { Left, Right };

    explicit Table(std::vector<std::string> header, std::vector<Align> align = {})
        : header_(std::move(header)), align_(std::move(align)) {
        align_.resize(header_.size(), Align::Left);
    }
    void add(std::vector<std::string> row) {
        row.resize(header_.size());
        rows_.push_back(std::move(row));
    }
    bool empty() const { return rows_.empty(); }
    bool headerless() const {
        return std::all_of(header_.begin(), header_.end(), [](const std::string& cell) { return cell.empty(); });
    }

    void print(std::string& out, std::string_view indent = "  ") const {
        std::vector<std::size_t> width(header_.size());
        for (std::size_t c = 0; c < header_.size(); ++c) {
            width[c] = header_[c].size();
            for (const auto& row : rows_) width[c] = std::max(width[c], row[c].size());
        }
        auto line = [&](const std::vector<std::string>& cells) {
            std::string text(indent);
            for (std::size_t c = 0; c < cells.size(); ++c) {
                const std::size_t pad = width[c] - cells[c].size();
                if (align_[c] == Align::Right) text.append(pad, ' ');
                text += cells[c];
                if (align_[c] == Align::Left && c + 1 < cells.size()) text.append(pad, ' ');
                if (c + 1 < cells.size()) text += "  ";
            }
            while (!text.empty() && text.back() == ' ') text.pop_back();
            out += text;
            out += '\n';
        };
        if (!headerless()) line(header_);
        for (const auto& row : rows_) line(row);
    }

private:
    std::vector<std::string> header_;
    std::vector<Align> align_;
    std::vector<std::vector<std::string>> rows_;
};

}  // namespace loader_plan
