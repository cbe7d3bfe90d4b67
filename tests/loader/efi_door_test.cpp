// The EFI door's pure parts on inputs a firmware may really hand over, and
// on hostile ones: UTF-16 load options, device paths, memory maps.

#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "reference_loader/efi_door.hpp"

namespace efi = loader::efi;
namespace fdt = loader_api::fdt;

namespace {

std::vector<std::uint8_t> utf16(std::u16string_view text, bool terminate = true) {
    std::vector<std::uint8_t> bytes;
    for (const char16_t c : text) {
        bytes.push_back(static_cast<std::uint8_t>(c));
        bytes.push_back(static_cast<std::uint8_t>(c >> 8));
    }
    if (terminate) bytes.insert(bytes.end(), {0, 0});
    return bytes;
}

std::string utf8(const std::vector<std::uint8_t>& bytes, std::size_t capacity = 256) {
    std::string out(capacity, '\0');
    out.resize(efi::utf8_from_utf16(bytes.data(), bytes.size(), out.data(), capacity));
    return out;
}

std::string text(const efi::Path& path) {
    std::string out;
    for (std::size_t i = 0; i < path.length; ++i) out.push_back(static_cast<char>(path.text[i]));
    return out;
}

// A device path: file-path nodes (type 4, subtype 4) with the given texts,
// then the end node; `shift` bytes of padding in front make it unaligned.
std::vector<std::uint8_t> device_path(std::vector<std::u16string_view> files, std::size_t shift = 0) {
    std::vector<std::uint8_t> bytes(shift, 0xee);
    for (const auto file : files) {
        const auto body = utf16(file);
        const std::size_t length = 4 + body.size();
        bytes.insert(bytes.end(), {4, 4, static_cast<std::uint8_t>(length), static_cast<std::uint8_t>(length >> 8)});
        bytes.insert(bytes.end(), body.begin(), body.end());
    }
    bytes.insert(bytes.end(), {0x7f, 0xff, 4, 0});
    return bytes;
}

struct Map {
    std::vector<std::byte> bytes;
    std::uint64_t descriptor_size;

    explicit Map(std::uint64_t size = sizeof(efi::MemoryDescriptor)) : descriptor_size(size) {}
    Map& add(efi::MemoryType type, std::uint64_t start, std::uint64_t pages) {
        efi::MemoryDescriptor descriptor{type, 0, start, 0, pages, 0};
        const std::size_t at = bytes.size();
        bytes.resize(at + descriptor_size, std::byte{0x5a});
        std::memcpy(bytes.data() + at, &descriptor, sizeof(descriptor));
        return *this;
    }
    efi::MemoryMapView view() const { return {bytes.data(), bytes.size(), descriptor_size}; }
};

kmem::PhysicalRange range(std::uint64_t begin, std::uint64_t end) {
    return {kmem::PhysicalAddress(begin), kmem::PhysicalAddress(end)};
}

std::string kept_text(const fdt::MachineInfo& machine) {
    std::string out;
    for (const auto& reserved : machine.reserved) {
        char line[128];
        std::snprintf(line, sizeof(line), "[%#llx, %#llx) %.*s\n",
                      static_cast<unsigned long long>(reserved.range.begin().value()),
                      static_cast<unsigned long long>(reserved.range.end().value()),
                      static_cast<int>(reserved.node.size()), reserved.node.data());
        out += line;
    }
    return out;
}

}  // namespace

TEST_CASE("load options: UTF-16 to UTF-8") {
    CHECK(utf8(utf16(u"console=ttyS0 x=1")) == "console=ttyS0 x=1");
    CHECK(utf8(utf16(u"lang=\u00e9\u2603")) == "lang=\xc3\xa9\xe2\x98\x83");
    CHECK(utf8(utf16(u"smile=\U0001F600")) == "smile=\xf0\x9f\x98\x80");
    // Stops at the first NUL; an odd trailing byte is ignored.
    CHECK(utf8(utf16(u"a\0b", false)) == "a");
    auto odd = utf16(u"ab", false);
    odd.push_back('c');
    CHECK(utf8(odd) == "ab");
    // Lone surrogates (high without low, low alone, high at the very end) become U+FFFD.
    CHECK(utf8(utf16(u"x\xd800y")) == "x\xef\xbf\xbdy");
    CHECK(utf8(utf16(u"x\xdc00y")) == "x\xef\xbf\xbdy");
    CHECK(utf8(utf16(u"x\xd800", false)) == "x\xef\xbf\xbd");
    // A character that does not fit whole ends the text.
    CHECK(utf8(utf16(u"ab\u00e9"), 3) == "ab");
    CHECK(utf8(utf16(u"ab\u00e9"), 4) == "ab\xc3\xa9");
    CHECK(utf8({}, 16).empty());
}

TEST_CASE("load options: kernel= and initrd= name files, the rest is the command line") {
    std::string buffer(256, '\0');
    const std::string_view options = "kernel=\\k\\a.elf  console=ttyS0 initrd=rd.img a=\"b c\"   end";
    const efi::LoadOptions parsed = efi::parse_load_options(options, buffer.data());
    CHECK(parsed.kernel == "\\k\\a.elf");
    CHECK(parsed.initrd == "rd.img");
    CHECK(parsed.command_line == "console=ttyS0 a=\"b c\" end");
    // A later word wins; words that only start alike are the command line's.
    const auto twice = efi::parse_load_options("kernel=a kernel=b kernelx=c initrd= ", buffer.data());
    CHECK(twice.kernel == "b");
    CHECK(twice.initrd.empty());
    CHECK(twice.command_line == "kernelx=c");
    CHECK(efi::parse_load_options("   ", buffer.data()).command_line.empty());
    CHECK(efi::parse_load_options("", buffer.data()).kernel.empty());
}

TEST_CASE("device path: the loader's directory") {
    auto path = device_path({u"\\EFI\\BOOT\\BOOTRISCV64.EFI"});
    CHECK(text(efi::loader_directory(path.data(), path.size())) == "\\EFI\\BOOT\\");
    // U-Boot's form, with '/' and no leading separator; unaligned text.
    path = device_path({u"efi/boot\\bootriscv64.efi"}, 1);
    CHECK(text(efi::loader_directory(path.data() + 1, path.size() - 1)) == "\\efi\\boot\\");
    // Split over several nodes, separators not doubled.
    path = device_path({u"\\EFI\\", u"\\BOOT", u"\\X.EFI"});
    CHECK(text(efi::loader_directory(path.data(), path.size())) == "\\EFI\\BOOT\\");
    // No file path, none at all, or a file at the root: the root.
    path = device_path({});
    CHECK(text(efi::loader_directory(path.data(), path.size())) == "\\");
    CHECK(text(efi::loader_directory(nullptr)) == "\\");
    path = device_path({u"X.EFI"});
    CHECK(text(efi::loader_directory(path.data(), path.size())) == "\\");
    // Hostile: a node shorter than its header, a length past the limit, no end node.
    std::vector<std::uint8_t> bad = {4, 4, 2, 0, 'a', 0};
    CHECK(text(efi::loader_directory(bad.data(), bad.size())) == "\\");
    bad = {4, 4, 0xff, 0xff, '\\', 0, 'a', 0, '\\', 0};
    CHECK(text(efi::loader_directory(bad.data(), bad.size())) == "\\");
    path = device_path({u"\\EFI\\BOOT\\X.EFI"});
    path.resize(path.size() - 4);
    CHECK(text(efi::loader_directory(path.data(), path.size())) == "\\EFI\\BOOT\\");
    // A directory longer than a path can hold keeps what fits, up to a separator.
    std::u16string deep;
    for (int i = 0; i < 100; ++i) deep += u"\\abcd";
    path = device_path({deep});
    const efi::Path clipped = efi::loader_directory(path.data(), path.size());
    CHECK(clipped.length < efi::kPathLength);
    CHECK(clipped.ends_with_separator());
    CHECK(!clipped.too_long);
}

TEST_CASE("paths: relative to the loader's directory, absolute with either separator, too long marked") {
    auto path = device_path({u"\\EFI\\BOOT\\BOOTRISCV64.EFI"});
    const efi::Path directory = efi::loader_directory(path.data(), path.size());
    CHECK(text(efi::resolve(directory, "kernel.elf")) == "\\EFI\\BOOT\\kernel.elf");
    CHECK(text(efi::resolve(directory, "k/a.elf")) == "\\EFI\\BOOT\\k\\a.elf");
    CHECK(text(efi::resolve(directory, "\\kernels\\a.elf")) == "\\kernels\\a.elf");
    CHECK(text(efi::resolve(directory, "/kernels/a.elf")) == "\\kernels\\a.elf");
    CHECK(efi::resolve(directory, "/kernels/a.elf").text[14] == 0);
    CHECK(!efi::resolve(directory, std::string(240, 'x')).too_long);
    CHECK(efi::resolve(directory, std::string(250, 'x')).too_long);
}

TEST_CASE("memory map: what UEFI keeps becomes reservations, merged, the device tree carved out") {
    for (const std::uint64_t descriptor_size : {std::uint64_t{40}, std::uint64_t{48}}) {
        CAPTURE(descriptor_size);
        Map map(descriptor_size);
        map.add(efi::MemoryType::Conventional, 0x8000'0000, 0x100)
            .add(efi::MemoryType::RuntimeServicesData, 0x8010'0000, 2)
            .add(efi::MemoryType::RuntimeServicesData, 0x8010'2000, 1)  // adjacent: merged
            .add(efi::MemoryType::RuntimeServicesCode, 0x8010'3000, 1)  // adjacent, other type: not
            .add(efi::MemoryType::BootServicesData, 0x8020'0000, 16)
            .add(efi::MemoryType::LoaderCode, 0x8030'0000, 16)
            .add(efi::MemoryType::AcpiReclaim, 0x8040'0000, 10)         // holds the tree at +0x2100..+0x5000
            .add(efi::MemoryType::MemoryMappedIo, 0x1000'0000, 1)
            .add(efi::MemoryType::Reserved, 0x8050'0000, 0)              // empty: nothing
            .add(static_cast<efi::MemoryType>(0x7000'0001), 0x8060'0000, 1);  // OEM type: kept
        auto machine = std::make_unique<fdt::MachineInfo>();
        const auto kept = efi::keep_firmware_memory(map.view(), range(0x8040'2100, 0x8040'5000), *machine);
        REQUIRE(kept);
        CHECK(*kept == 6);
        CHECK(kept_text(*machine) ==
              "[0x80100000, 0x80103000) EFI runtime services data\n"
              "[0x80103000, 0x80104000) EFI runtime services code\n"
              "[0x80400000, 0x80402000) EFI ACPI reclaim\n"
              "[0x80405000, 0x8040a000) EFI ACPI reclaim\n"
              "[0x10000000, 0x10001000) EFI MMIO\n"
              "[0x80600000, 0x80601000) EFI unknown type\n");
        // Runtime services are told apart (the kernel maps them to call the firmware); the rest is one source.
        CHECK(machine->reserved[0].source == fdt::ReservationSource::kFirmwareRuntimeData);
        CHECK(machine->reserved[1].source == fdt::ReservationSource::kFirmwareRuntimeCode);
        for (std::size_t i = 2; i < machine->reserved.size(); ++i)
            CHECK(machine->reserved[i].source == fdt::ReservationSource::kFirmwareMemoryMap);
        for (const auto& reserved : machine->reserved) CHECK(fdt::from_firmware_map(reserved.source));
        CHECK(machine->reserved[4].no_map);
        CHECK(!machine->reserved[0].no_map);
    }
}

TEST_CASE("memory map: the tree at either end of its allocation, or all of it") {
    Map map;
    map.add(efi::MemoryType::AcpiReclaim, 0x8040'0000, 4);
    auto machine = std::make_unique<fdt::MachineInfo>();
    REQUIRE(efi::keep_firmware_memory(map.view(), range(0x8040'0000, 0x8040'1800), *machine));
    CHECK(kept_text(*machine) == "[0x80402000, 0x80404000) EFI ACPI reclaim\n");
    machine = std::make_unique<fdt::MachineInfo>();
    REQUIRE(efi::keep_firmware_memory(map.view(), range(0x8040'3000, 0x8040'4000), *machine));
    CHECK(kept_text(*machine) == "[0x80400000, 0x80403000) EFI ACPI reclaim\n");
    machine = std::make_unique<fdt::MachineInfo>();
    REQUIRE(efi::keep_firmware_memory(map.view(), range(0x8040'0000, 0x8040'4000), *machine));
    CHECK(machine->reserved.empty());
    // The tree's pages are carved out of ACPI reclaim memory only.
    Map runtime;
    runtime.add(efi::MemoryType::RuntimeServicesData, 0x8040'0000, 4);
    machine = std::make_unique<fdt::MachineInfo>();
    REQUIRE(efi::keep_firmware_memory(runtime.view(), range(0x8040'0000, 0x8040'4000), *machine));
    CHECK(kept_text(*machine) == "[0x80400000, 0x80404000) EFI runtime services data\n");
}

TEST_CASE("memory map: hostile maps are named errors") {
    Map wraps;
    wraps.add(efi::MemoryType::Conventional, 0, 1).add(efi::MemoryType::Reserved, 0xffff'ffff'ffff'f000, 2);
    auto machine = std::make_unique<fdt::MachineInfo>();
    auto result = efi::keep_firmware_memory(wraps.view(), {}, *machine);
    REQUIRE(!result);
    CHECK(result.error().code == efi::KeepError::Code::kWraps);
    CHECK(result.error().descriptor == 1);
    Map huge;
    huge.add(efi::MemoryType::Reserved, 0x1000, std::uint64_t{1} << 60);  // pages * 4 KiB overflows
    result = efi::keep_firmware_memory(huge.view(), {}, *machine);
    REQUIRE(!result);
    CHECK(result.error().code == efi::KeepError::Code::kWraps);
    // More separate ranges than the machine holds.
    Map many;
    for (std::uint64_t i = 0; i <= fdt::kMaxReservedRanges; ++i) many.add(efi::MemoryType::Reserved, 0x8000'0000 + i * 0x2000, 1);
    machine = std::make_unique<fdt::MachineInfo>();
    result = efi::keep_firmware_memory(many.view(), {}, *machine);
    REQUIRE(!result);
    CHECK(result.error().code == efi::KeepError::Code::kCapacity);
    CHECK(result.error().descriptor == fdt::kMaxReservedRanges);
    // Descriptors smaller than the specification's are no descriptors at all.
    Map small(24);
    small.bytes.resize(48, std::byte{0});
    CHECK(efi::MemoryMapView{small.bytes.data(), 48, 24}.count() == 0);
}
