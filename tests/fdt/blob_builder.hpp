#pragma once
// Builds device tree blobs by hand for the unit and malformed-input tests, so
// that every token and offset can be set, broken or cut on purpose. Written
// from the specification's layout, independent of the reader under test.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fdt_test {

inline void put_be32(std::vector<std::uint8_t>& out, std::uint32_t value) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(value >> shift));
}
inline void put_be64(std::vector<std::uint8_t>& out, std::uint64_t value) {
    put_be32(out, static_cast<std::uint32_t>(value >> 32));
    put_be32(out, static_cast<std::uint32_t>(value));
}
inline void set_be32(std::vector<std::uint8_t>& out, std::size_t at, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) out[at + i] = static_cast<std::uint8_t>(value >> (24 - 8 * i));
}

inline std::vector<std::uint8_t> cells(std::initializer_list<std::uint32_t> values) {
    std::vector<std::uint8_t> out;
    for (std::uint32_t v : values) put_be32(out, v);
    return out;
}
inline std::vector<std::uint8_t> str(std::string_view text) {
    std::vector<std::uint8_t> out(text.begin(), text.end());
    out.push_back(0);
    return out;
}

struct Layout {
    std::size_t struct_offset = 0;
    std::size_t strings_offset = 0;
    std::size_t rsvmap_offset = 0;
};

class BlobBuilder {
public:
    BlobBuilder& begin(std::string_view name) {
        put_be32(structure_, 1);
        structure_.insert(structure_.end(), name.begin(), name.end());
        structure_.push_back(0);
        pad();
        return *this;
    }
    BlobBuilder& end() {
        put_be32(structure_, 2);
        return *this;
    }
    BlobBuilder& nop() {
        put_be32(structure_, 4);
        return *this;
    }
    BlobBuilder& token(std::uint32_t value) {
        put_be32(structure_, value);
        return *this;
    }
    BlobBuilder& prop(std::string_view name, const std::vector<std::uint8_t>& value) {
        put_be32(structure_, 3);
        put_be32(structure_, static_cast<std::uint32_t>(value.size()));
        put_be32(structure_, name_offset(name));
        structure_.insert(structure_.end(), value.begin(), value.end());
        pad();
        return *this;
    }
    BlobBuilder& prop(std::string_view name, std::string_view text) { return prop(name, str(text)); }
    BlobBuilder& reserve(std::uint64_t address, std::uint64_t size) {
        reservations_.emplace_back(address, size);
        return *this;
    }
    // Raw bytes into the strings block (e.g. a name without its NUL).
    BlobBuilder& raw_strings(std::string_view bytes) {
        strings_.insert(strings_.end(), bytes.begin(), bytes.end());
        return *this;
    }
    std::vector<std::uint8_t>& structure() { return structure_; }

    // Header (version 17 unless told), map, structure (with FDT_END unless
    // told), strings.
    std::vector<std::uint8_t> finish(bool with_end = true, std::uint32_t version = 17, Layout* layout = nullptr) const {
        std::vector<std::uint8_t> structure = structure_;
        if (with_end) put_be32(structure, 9);
        std::vector<std::uint8_t> blob(40, 0);
        const std::size_t rsvmap = blob.size();
        for (auto [address, size] : reservations_) {
            put_be64(blob, address);
            put_be64(blob, size);
        }
        put_be64(blob, 0);
        put_be64(blob, 0);
        const std::size_t struct_at = blob.size();
        blob.insert(blob.end(), structure.begin(), structure.end());
        const std::size_t strings_at = blob.size();
        blob.insert(blob.end(), strings_.begin(), strings_.end());
        set_be32(blob, 0, 0xd00dfeed);
        set_be32(blob, 4, static_cast<std::uint32_t>(blob.size()));
        set_be32(blob, 8, static_cast<std::uint32_t>(struct_at));
        set_be32(blob, 12, static_cast<std::uint32_t>(strings_at));
        set_be32(blob, 16, static_cast<std::uint32_t>(rsvmap));
        set_be32(blob, 20, version);
        set_be32(blob, 24, 16);
        set_be32(blob, 28, 0);
        set_be32(blob, 32, static_cast<std::uint32_t>(strings_.size()));
        set_be32(blob, 36, version >= 17 ? static_cast<std::uint32_t>(structure.size()) : 0);
        if (layout) *layout = {struct_at, strings_at, rsvmap};
        return blob;
    }

private:
    void pad() {
        while (structure_.size() % 4 != 0) structure_.push_back(0);
    }
    std::uint32_t name_offset(std::string_view name) {
        const std::string_view all(reinterpret_cast<const char*>(strings_.data()), strings_.size());
        for (std::size_t at = 0; at < all.size();) {
            const std::size_t nul = all.find('\0', at);
            if (nul == std::string_view::npos) break;
            if (all.substr(at, nul - at) == name) return static_cast<std::uint32_t>(at);
            at = nul + 1;
        }
        const auto at = static_cast<std::uint32_t>(strings_.size());
        strings_.insert(strings_.end(), name.begin(), name.end());
        strings_.push_back(0);
        return at;
    }

    std::vector<std::uint8_t> structure_;
    std::vector<std::uint8_t> strings_;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> reservations_;
};

}  // namespace fdt_test
