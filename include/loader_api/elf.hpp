#pragma once
// The ELF reader the loader and the tools use, one concept per header
// (as Fuchsia's elfldltl splits its own):
//   elf/constants.hpp    ELF constants and RISC-V relocation type names
//   elf/layout.hpp       the views the reader hands out (segments, sections,
//                        dynamic tables, relocations)
//   elf/diagnostics.hpp  ElfError and the message it formats
//   elf/reader.hpp       ElfFile: parse() and the checked accessors
//   elf/relocation.hpp   ElfFile::for_each_relocation()
// Including this header is the same as including all of them.

#include "loader_api/elf/constants.hpp"
#include "loader_api/elf/diagnostics.hpp"
#include "loader_api/elf/layout.hpp"
#include "loader_api/elf/reader.hpp"
#include "loader_api/elf/relocation.hpp"
