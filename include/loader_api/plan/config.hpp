#pragma once
// Reading the kernel's LoaderConfig (.loader_config, docs/protocol.md):
// any minor version, shorter or longer than this loader's, checked field by
// field, zeros turned into the defaults.

#include <cstdint>
#include <span>

#include "loader_api/plan/common.hpp"

namespace loader_api {

namespace plan_detail {

using elf_detail::read_le;

// Where each field of LoaderConfig ends: a shorter config (an older minor
// version) must stop at one of these, so that no field is cut in half.
inline constexpr std::uint32_t kLoaderConfigFieldEnds[] = {16, 24, 28, 32, 36, 40, 44, 48, 52, 56};
static_assert(kLoaderConfigFieldEnds[sizeof kLoaderConfigFieldEnds / sizeof kLoaderConfigFieldEnds[0] - 1] ==
              sizeof(LoaderConfig));

// A zero field means "the default" (docs/protocol.md, LoaderConfig), so that
// a config written field by field from the spec, or one shorter than this
// loader knows, plans exactly like LoaderConfig{}. The fields not named here
// have zero as their default already.
constexpr LoaderConfig with_defaults(LoaderConfig config) {
    constexpr LoaderConfig defaults{};
    if (config.stack_size == 0) config.stack_size = defaults.stack_size;
    if (static_cast<std::uint32_t>(config.min_paging_mode) == 0) config.min_paging_mode = defaults.min_paging_mode;
    if (static_cast<std::uint32_t>(config.max_paging_mode) == 0) config.max_paging_mode = defaults.max_paging_mode;
    if (static_cast<std::uint32_t>(config.preferred_paging_mode) == 0)
        config.preferred_paging_mode = defaults.preferred_paging_mode;
    return config;
}

// A field this loader refuses, and the one value it takes there. Out of
// line and built in place: a PlanError is 256 bytes, and zeroing and copying
// it inline at each refusal made read_config 5 KB (issue 13).
[[gnu::noinline, gnu::cold]] constexpr Result<LoaderConfig> bad_config(std::string_view field, std::uint64_t value,
                                                                      std::uint64_t expected) {
    return fail(PlanErrorCode::BadLoaderConfig, field, ConfigValue{value, expected});
}
template <class Enum>
[[gnu::noinline, gnu::cold]] constexpr Result<LoaderConfig> bad_config_name(std::string_view field, Enum value) {
    return kmem::unexpected(unnamed_config_value(field, value));
}

inline Result<LoaderConfig> read_config(const ElfFile& elf) {
    const auto section = elf.find_section(".loader_config");
    if (!section) return fail(PlanErrorCode::MissingLoaderConfig);
    const std::span<const std::byte> bytes = section->bytes;
    if (bytes.size() < 16) return bad_config("section size", bytes.size(), sizeof(LoaderConfig));
    if (read_le(bytes, 0, 8) != kLoaderConfigMagic) return bad_config("magic", read_le(bytes, 0, 8), kLoaderConfigMagic);
    if (read_le(bytes, 8, 2) != kLoaderConfigVersionMajor)
        return bad_config("version_major", read_le(bytes, 8, 2), kLoaderConfigVersionMajor);
    const std::uint64_t size = read_le(bytes, 12, 4);
    bool field_end = size > sizeof(LoaderConfig);
    for (const std::uint32_t end : kLoaderConfigFieldEnds) field_end = field_end || size == end;
    if (!field_end) return bad_config("size (not at the end of a field)", size, sizeof(LoaderConfig));
    if (bytes.size() < size) return bad_config("section size", bytes.size(), size);
    // A newer minor version may be longer: what this loader does not know
    // must be zero ("as before"), or the kernel asks for something it would
    // silently not get.
    for (std::uint64_t at = sizeof(LoaderConfig); at < size; ++at)
        if (bytes[at] != std::byte{0})
            return bad_config("offset of a non-zero byte past the fields this loader knows", at, 0);
    // Missing fields read as 0, which with_defaults() turns into defaults.
    std::byte known[sizeof(LoaderConfig)] = {};
    __builtin_memcpy(known, bytes.data(), size < sizeof(LoaderConfig) ? size : sizeof(LoaderConfig));
    LoaderConfig raw{};
    __builtin_memcpy(&raw, known, sizeof raw);
    const LoaderConfig config = with_defaults(raw);
    if (config.stack_size % k4K != 0 || config.stack_size > (std::uint64_t{1} << 40))
        return bad_config("stack_size (a multiple of 4 KiB)", config.stack_size, 64 * 1024);
    if (!is_valid(config.min_paging_mode))
        return bad_config("min_paging_mode", static_cast<std::uint32_t>(config.min_paging_mode), 8);
    if (!is_valid(config.max_paging_mode))
        return bad_config("max_paging_mode", static_cast<std::uint32_t>(config.max_paging_mode), 10);
    if (!is_valid(config.preferred_paging_mode))
        return bad_config("preferred_paging_mode", static_cast<std::uint32_t>(config.preferred_paging_mode), 9);
    if (config.min_paging_mode > config.max_paging_mode)
        return bad_config("min_paging_mode (above max_paging_mode)", static_cast<std::uint32_t>(config.min_paging_mode),
                          static_cast<std::uint32_t>(config.max_paging_mode));
    if (!names_value(config.kaslr)) return bad_config_name("kaslr", config.kaslr);
    if (!names_value(config.start_harts)) return bad_config_name("start_harts", config.start_harts);
    if (!names_value(config.log_level)) return bad_config_name("log_level", config.log_level);
    return config;
}

}  // namespace plan_detail

}  // namespace loader_api
