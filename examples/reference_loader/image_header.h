/* The values of the image's headers (image_header.S): the Linux RISC-V
   Image header (Linux, Documentation/arch/riscv/boot-image-header.rst) and
   the PE32+ header of the EFI door (Microsoft's PE format; UEFI 2.10,
   section 2.1.1), and the ELF constants entry.S's self-relocation needs.
   tests/boot/check_image_header.py checks the bytes they produce. */
#pragma once

/* booti moves the image to RAM base + text_offset: 2 MiB, as Linux, clear of
   the firmware at the bottom of RAM (OpenSBI's own region). The loader runs
   at any 4 KiB-aligned address; this is only where U-Boot puts it. */
#define IMAGE_TEXT_OFFSET 0x200000
/* Bit 0: little-endian; the others are reserved. */
#define IMAGE_FLAGS 0
/* 0.2: major in the upper 16 bits. */
#define IMAGE_VERSION ((0 << 16) | 2)
#define IMAGE_MAGIC "RISCV\0\0\0"
#define IMAGE_MAGIC2 "RSC\x05"

/* PE32+ */
#define PE_MACHINE_RISCV64 0x5064
/* EXECUTABLE_IMAGE | LINE_NUMS_STRIPPED | DEBUG_STRIPPED */
#define PE_CHARACTERISTICS 0x0206
#define PE_OPTIONAL_MAGIC_PE32PLUS 0x20b
#define PE_SECTION_ALIGNMENT 4096
#define PE_FILE_ALIGNMENT 512
#define PE_SUBSYSTEM_EFI_APPLICATION 10
#define PE_DATA_DIRECTORIES 6
/* CNT_CODE | MEM_EXECUTE | MEM_READ */
#define PE_SCN_TEXT 0x60000020
/* CNT_INITIALIZED_DATA | MEM_READ | MEM_WRITE */
#define PE_SCN_DATA 0xc0000040

/* ELF: .dynamic tags and the one relocation a static PIE needs. */
#define DT_RELA 7
#define DT_RELASZ 8
#define R_RISCV_RELATIVE 3
#define RELA_ENTRY_SIZE 24
