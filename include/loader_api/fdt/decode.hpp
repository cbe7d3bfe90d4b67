#pragma once
// Decoding property values: big-endian cells, reg lists under the parent's
// #address-cells/#size-cells, strings, string lists, status. Every decoder
// checks the value's length and returns an error naming the property.

#include <cstdint>
#include <string_view>

#include "kmem/address.hpp"
#include "kmem/range.hpp"
#include "loader_api/fdt/reader.hpp"

namespace loader_api::fdt {

namespace detail {
constexpr kmem::Unexpected<Error> bad_property(ErrorCode code, const Property& prop, std::uint64_t info = 0,
                                               std::uint64_t info2 = 0) {
    return kmem::unexpected(
        Error{.code = code, .offset = prop.offset, .detail = info, .detail2 = info2, .property = prop.name});
}
}  // namespace detail

// `count` big-endian cells (0, 1 or 2) at byte `at` as one number.
constexpr std::uint64_t read_cells(Bytes bytes, std::size_t at, std::uint32_t count) {
    KMEM_ASSERT(count <= 2);
    std::uint64_t value = 0;
    for (std::uint32_t i = 0; i < count; ++i) value = value << 32 | load_be32(bytes, at + 4 * i);
    return value;
}

constexpr Result<std::uint32_t> as_u32(const Property& prop) {
    if (prop.value.size() != 4) return detail::bad_property(ErrorCode::kBadPropertySize, prop, prop.value.size());
    return load_be32(prop.value, 0);
}

constexpr Result<std::uint64_t> as_u64(const Property& prop) {
    if (prop.value.size() != 8) return detail::bad_property(ErrorCode::kBadPropertySize, prop, prop.value.size());
    return load_be64(prop.value, 0);
}

// Properties that bindings allow as either width (linux,initrd-*,
// timebase-frequency).
constexpr Result<std::uint64_t> as_u32_or_u64(const Property& prop) {
    if (prop.value.size() == 4) return std::uint64_t{load_be32(prop.value, 0)};
    if (prop.value.size() == 8) return load_be64(prop.value, 0);
    return detail::bad_property(ErrorCode::kBadPropertySize, prop, prop.value.size());
}

constexpr Result<std::uint32_t> as_phandle(const Property& prop) { return as_u32(prop); }

// A <string> value: must end in NUL; the string is everything before the
// first NUL (as libfdt users and Linux read it). Inlined: a call returned a
// 240-byte Result, for each string property of each cpu node among others.
[[gnu::always_inline]] inline Result<std::string_view> as_string(const Property& prop) {
    if (prop.value.empty() || prop.value.back() != 0)
        return detail::bad_property(ErrorCode::kUnterminatedString, prop);
    return as_chars(prop.value, 0, terminated_length(prop.value, 0));
}

// A <stringlist> value: NUL-terminated strings back to back, viewed in place.
class StringList {
public:
    constexpr StringList() = default;
    constexpr explicit StringList(std::string_view raw) : raw_(raw) {}

    // Hand-written scans: string_view::find and substr would pull memchr and
    // a throwing range check into freestanding code.
    class Iterator {
    public:
        constexpr Iterator(std::string_view rest) : rest_(rest), length_(length_of(rest)) {}
        constexpr std::string_view operator*() const { return {rest_.data(), length_}; }
        constexpr Iterator& operator++() {
            const std::size_t skip = length_ + 1;
            rest_ = skip >= rest_.size() ? std::string_view{} : std::string_view{rest_.data() + skip, rest_.size() - skip};
            length_ = length_of(rest_);
            return *this;
        }
        constexpr bool operator==(const Iterator& other) const { return rest_.size() == other.rest_.size(); }

    private:
        static constexpr std::size_t length_of(std::string_view rest) {
            std::size_t n = 0;
            while (n < rest.size() && rest[n] != '\0') ++n;
            return n;
        }
        std::string_view rest_;
        std::size_t length_;
    };

    constexpr Iterator begin() const { return {raw_}; }
    constexpr Iterator end() const { return {std::string_view{}}; }
    constexpr bool empty() const { return raw_.empty(); }
    // The bytes as stored, every string with its NUL.
    constexpr std::string_view raw() const { return raw_; }
    constexpr std::size_t count() const {
        std::size_t n = 0;
        for (auto it = begin(); it != end(); ++it) ++n;
        return n;
    }
    // One pass: every compatible of a tree is tested against several names
    // (the device-tree read is the loader's largest cost after planning), so
    // an entry is compared where it starts and left at its first mismatch.
    constexpr bool contains(std::string_view wanted) const {
        std::size_t at = 0;
        while (at < raw_.size()) {
            std::size_t n = 0;
            while (n < wanted.size() && at + n < raw_.size() && raw_[at + n] == wanted[n]) ++n;
            if (n == wanted.size() && at + n < raw_.size() && raw_[at + n] == '\0') return true;
            while (at + n < raw_.size() && raw_[at + n] != '\0') ++n;
            at += n + 1;
        }
        return false;
    }

private:
    std::string_view raw_{};
};

inline Result<StringList> as_string_list(const Property& prop) {
    if (prop.value.empty()) return StringList{};
    if (prop.value.back() != 0) return detail::bad_property(ErrorCode::kUnterminatedString, prop);
    return StringList{as_chars(prop.value, 0, prop.value.size())};
}

enum class Status : std::uint8_t { kOkay, kDisabled, kReserved, kFail, kOther };

constexpr std::string_view describe(Status status) {
    switch (status) {
        case Status::kOkay: return "okay";
        case Status::kDisabled: return "disabled";
        case Status::kReserved: return "reserved";
        case Status::kFail: return "fail";
        case Status::kOther: return "other";
    }
    return "?";
}

// "okay" and the older "ok" mean enabled, as does a missing property (the
// caller passes no property then). "fail-sss" counts as fail.
inline Result<Status> as_status(const Property& prop) {
    const std::string_view text = KMEM_TRY(as_string(prop));
    if (text == "okay" || text == "ok") return Status::kOkay;
    if (text == "disabled") return Status::kDisabled;
    if (text == "reserved") return Status::kReserved;
    // Compared by hand: string_view::starts_with may throw out_of_range.
    if (text == "fail" || (text.size() > 5 && text[0] == 'f' && text[1] == 'a' && text[2] == 'i' && text[3] == 'l' &&
                           text[4] == '-'))
        return Status::kFail;
    return Status::kOther;
}

struct RegEntry {
    std::uint64_t address = 0;
    std::uint64_t size = 0;

    friend constexpr bool operator==(RegEntry, RegEntry) = default;

    // The physical range, or an error when address + size passes 2^64.
    constexpr Result<kmem::PhysicalRange> range() const {
        auto range = kmem::PhysicalRange::from_size(kmem::PhysicalAddress(address), size);
        if (!range) return kmem::unexpected(Error{.code = ErrorCode::kAddressOverflow, .detail = address, .detail2 = size});
        return *range;
    }
};

// A reg (or alloc-ranges) value cut into (address, size) pairs. The cell
// counts are checked when the list is made: each of them 0..2, since wider
// values do not fit 64 bits, and the length a whole number of entries.
class RegList {
public:
    constexpr RegList() = default;

    static constexpr Result<RegList> create(const Property& prop, CellCounts cells) {
        if (cells.address > 2 || cells.size > 2)
            return detail::bad_property(ErrorCode::kBadCellCount, prop, cells.address, cells.size);
        const std::size_t stride = 4 * (cells.address + cells.size);
        if (stride == 0 ? !prop.value.empty() : prop.value.size() % stride != 0)
            return detail::bad_property(ErrorCode::kBadPropertySize, prop, prop.value.size());
        RegList list;
        list.bytes_ = prop.value;
        list.cells_ = cells;
        list.stride_ = stride;
        return list;
    }

    constexpr std::size_t size() const { return stride_ == 0 ? 0 : bytes_.size() / stride_; }
    constexpr bool empty() const { return size() == 0; }
    constexpr CellCounts cells() const { return cells_; }
    constexpr RegEntry operator[](std::size_t index) const {
        KMEM_ASSERT(index < size());
        const std::size_t at = index * stride_;
        return {read_cells(bytes_, at, cells_.address), read_cells(bytes_, at + 4 * cells_.address, cells_.size)};
    }

    class Iterator {
    public:
        constexpr Iterator(const RegList* list, std::size_t index) : list_(list), index_(index) {}
        constexpr RegEntry operator*() const { return (*list_)[index_]; }
        constexpr Iterator& operator++() {
            ++index_;
            return *this;
        }
        constexpr bool operator==(const Iterator& other) const { return index_ == other.index_; }

    private:
        const RegList* list_;
        std::size_t index_;
    };
    constexpr Iterator begin() const { return {this, 0}; }
    constexpr Iterator end() const { return {this, size()}; }

private:
    Bytes bytes_{};
    CellCounts cells_{};
    std::size_t stride_ = 0;
};

constexpr Result<RegList> as_reg(const Property& prop, CellCounts cells) { return RegList::create(prop, cells); }

}  // namespace loader_api::fdt
