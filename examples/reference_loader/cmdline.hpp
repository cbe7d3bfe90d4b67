#pragma once
// The loader's own words on the kernel command line (/chosen bootargs), all
// prefixed "loader." so they cannot collide with the kernel's:
//   loader.log=error|warn|notice|info|debug   the log level (notice by default; never above the build's)
//   loader.paging=sv39|sv48|sv57       widest paging mode the loader may choose
//   loader.test_trap                   take a trap on purpose (boot test of the trap vector)
// The whole command line still reaches the kernel unchanged.

#include <cstdint>
#include <string_view>

#include "console.hpp"
#include "kmem/riscv.hpp"

namespace loader {

struct CommandLine {
    bool has_log_level = false;
    LogLevel log_level = LogLevel::kInfo;
    bool has_paging_limit = false;
    kmem::PagingModeId paging_limit = kmem::PagingModeId::Sv57;
    bool test_trap = false;
    bool kaslr_off = false;  // loader.kaslr=off: the kernel at its link address (for a debugger's symbols)
    // The first loader.* word that is not understood (unknown name or value),
    // reported as a warning; empty when there is none.
    std::string_view unknown{};
};

namespace detail {

constexpr bool parse_level(std::string_view text, LogLevel& level) {
    for (auto candidate : {LogLevel::kError, LogLevel::kWarn, LogLevel::kNotice, LogLevel::kInfo, LogLevel::kDebug}) {
        if (text == level_name(candidate)) {
            level = candidate;
            return true;
        }
    }
    return false;
}

constexpr bool parse_paging(std::string_view text, kmem::PagingModeId& mode) {
    for (auto candidate : {kmem::PagingModeId::Sv39, kmem::PagingModeId::Sv48, kmem::PagingModeId::Sv57}) {
        const std::string_view name = kmem::name(candidate);  // "Sv39": accept any case of the letters
        if (text.size() != name.size()) continue;
        bool same = true;
        for (std::size_t i = 0; i < name.size(); ++i) {
            char c = text[i];
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
            char n = name[i];
            if (n >= 'A' && n <= 'Z') n = static_cast<char>(n - 'A' + 'a');
            same = same && c == n;
        }
        if (same) {
            mode = candidate;
            return true;
        }
    }
    return false;
}

constexpr bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace detail

// Later words win over earlier ones, as for the kernel's own parameters.
constexpr CommandLine parse_command_line(std::string_view text) {
    CommandLine result;
    std::size_t at = 0;
    while (at < text.size()) {
        while (at < text.size() && detail::is_space(text[at])) ++at;
        std::size_t end = at;
        while (end < text.size() && !detail::is_space(text[end]) && text[end] != '\0') ++end;
        const std::string_view word = text.substr(at, end - at);
        at = end + 1;
        if (!word.starts_with("loader.")) continue;
        const std::string_view rest = word.substr(7);
        const std::size_t equals = rest.find('=');
        const std::string_view key = rest.substr(0, equals);
        const std::string_view value = equals == std::string_view::npos ? std::string_view{} : rest.substr(equals + 1);
        bool understood = false;
        if (key == "log" && equals != std::string_view::npos) {
            understood = detail::parse_level(value, result.log_level);
            result.has_log_level = result.has_log_level || understood;
        } else if (key == "paging" && equals != std::string_view::npos) {
            understood = detail::parse_paging(value, result.paging_limit);
            result.has_paging_limit = result.has_paging_limit || understood;
        } else if (key == "kaslr" && (value == "off" || value == "on")) {
            result.kaslr_off = value == "off";
            understood = true;
        } else if (key == "test_trap" && equals == std::string_view::npos) {
            result.test_trap = understood = true;
        }
        if (!understood && result.unknown.empty()) result.unknown = word;
    }
    return result;
}

static_assert(parse_command_line("console=ttyS0 loader.log=warn").log_level == LogLevel::kWarn);
static_assert(parse_command_line("loader.log=notice").log_level == LogLevel::kNotice);
static_assert(!parse_command_line("loader.log=loud").has_log_level);
static_assert(parse_command_line("loader.log=loud x").unknown == "loader.log=loud");
static_assert(parse_command_line(" loader.paging=SV48 ").paging_limit == kmem::PagingModeId::Sv48);
static_assert(parse_command_line("loader.kaslr=off").kaslr_off && !parse_command_line("loader.kaslr=off loader.kaslr=on").kaslr_off);
static_assert(parse_command_line("loader.kaslr=no").unknown == "loader.kaslr=no");
static_assert(parse_command_line("loader.test_trap").test_trap && !parse_command_line("xloader.test_trap").test_trap);

}  // namespace loader
