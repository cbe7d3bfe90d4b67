#pragma once
// ELF constants the reader checks and the loader acts on: header values,
// segment, section and dynamic tags, flags and RISC-V relocation types.
//
// References: System V gABI (ELF-64 object file format), RISC-V ELF psABI
// (relocation numbers), the SHT_RELR proposal (generic-abi thread, 2018).

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

namespace loader_api {

// Raw ELF constants. Named kXxx rather than PT_LOAD etc. so that a translation
// unit that also includes <elf.h> (whose names are macros) still compiles.
namespace elf {
inline constexpr std::uint8_t kClass64 = 2;
inline constexpr std::uint8_t kDataLittleEndian = 1;
inline constexpr std::uint32_t kVersionCurrent = 1;
inline constexpr std::uint16_t kMachineRiscv = 243;
inline constexpr std::uint16_t kTypeExec = 2;
inline constexpr std::uint16_t kTypeDyn = 3;

inline constexpr std::size_t kHeaderSize = 64;
inline constexpr std::size_t kProgramHeaderSize = 56;
inline constexpr std::size_t kSectionHeaderSize = 64;
inline constexpr std::size_t kDynamicEntrySize = 16;
inline constexpr std::size_t kRelaEntrySize = 24;
inline constexpr std::size_t kRelrEntrySize = 8;
inline constexpr std::size_t kSymbolSize = 24;

inline constexpr std::uint16_t kPnXnum = 0xffff;
inline constexpr std::uint16_t kShnUndef = 0;
inline constexpr std::uint16_t kShnAbs = 0xfff1;
inline constexpr std::uint16_t kShnXindex = 0xffff;
inline constexpr std::uint32_t kShtNull = 0;
inline constexpr std::uint32_t kShtNobits = 8;

inline constexpr std::uint32_t kPtNull = 0;
inline constexpr std::uint32_t kPtLoad = 1;
inline constexpr std::uint32_t kPtDynamic = 2;
inline constexpr std::uint32_t kPtInterp = 3;
inline constexpr std::uint32_t kPtNote = 4;
inline constexpr std::uint32_t kPtPhdr = 6;
inline constexpr std::uint32_t kPtTls = 7;
inline constexpr std::uint32_t kPtGnuEhFrame = 0x6474e550;
inline constexpr std::uint32_t kPtGnuStack = 0x6474e551;
inline constexpr std::uint32_t kPtGnuRelro = 0x6474e552;
inline constexpr std::uint32_t kPtGnuProperty = 0x6474e553;
inline constexpr std::uint32_t kPtRiscvAttributes = 0x70000003;

inline constexpr std::uint32_t kPfX = 1;
inline constexpr std::uint32_t kPfW = 2;
inline constexpr std::uint32_t kPfR = 4;

inline constexpr std::uint64_t kDtNull = 0;
inline constexpr std::uint64_t kDtNeeded = 1;
inline constexpr std::uint64_t kDtPltRelSz = 2;
inline constexpr std::uint64_t kDtStrTab = 5;
inline constexpr std::uint64_t kDtSymTab = 6;
inline constexpr std::uint64_t kDtRela = 7;
inline constexpr std::uint64_t kDtRelaSz = 8;
inline constexpr std::uint64_t kDtRelaEnt = 9;
inline constexpr std::uint64_t kDtStrSz = 10;
inline constexpr std::uint64_t kDtSymEnt = 11;
inline constexpr std::uint64_t kDtRel = 17;
inline constexpr std::uint64_t kDtPltRel = 20;
inline constexpr std::uint64_t kDtTextRel = 22;
inline constexpr std::uint64_t kDtJmpRel = 23;
inline constexpr std::uint64_t kDtBindNow = 24;
inline constexpr std::uint64_t kDtFlags = 30;
inline constexpr std::uint64_t kDtRelrSz = 35;
inline constexpr std::uint64_t kDtRelr = 36;
inline constexpr std::uint64_t kDtRelrEnt = 37;
inline constexpr std::uint64_t kDtRelaCount = 0x6ffffff9;
inline constexpr std::uint64_t kDtFlags1 = 0x6ffffffb;

inline constexpr std::uint64_t kDfTextRel = 0x4;
inline constexpr std::uint64_t kDfBindNow = 0x8;
inline constexpr std::uint64_t kDf1Now = 0x1;
inline constexpr std::uint64_t kDf1Pie = 0x08000000;

inline constexpr std::uint32_t kRRiscvNone = 0;
inline constexpr std::uint32_t kRRiscv64 = 2;
inline constexpr std::uint32_t kRRiscvRelative = 3;
inline constexpr std::uint32_t kRRiscvJumpSlot = 5;

// Names from the RISC-V psABI, for error messages; empty when unknown.
constexpr std::string_view relocation_type_name(std::uint32_t type) {
    constexpr std::string_view kNames[] = {
        "R_RISCV_NONE", "R_RISCV_32", "R_RISCV_64", "R_RISCV_RELATIVE", "R_RISCV_COPY", "R_RISCV_JUMP_SLOT",
        "R_RISCV_TLS_DTPMOD32", "R_RISCV_TLS_DTPMOD64", "R_RISCV_TLS_DTPREL32", "R_RISCV_TLS_DTPREL64",
        "R_RISCV_TLS_TPREL32", "R_RISCV_TLS_TPREL64", "R_RISCV_TLSDESC"};
    if (type < std::size(kNames)) return kNames[type];
    if (type == 58) return "R_RISCV_IRELATIVE";
    return {};
}
}  // namespace elf

}  // namespace loader_api
