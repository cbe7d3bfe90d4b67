/* The Linux RISC-V Image header's values (Linux,
   Documentation/arch/riscv/boot-image-header.rst), for entry.S, and the ELF
   constants its self-relocation needs. tests/boot/check_image_header.py
   checks the bytes they produce. */
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

/* ELF: .dynamic tags and the one relocation a static PIE needs. */
#define DT_RELA 7
#define DT_RELASZ 8
#define R_RISCV_RELATIVE 3
#define RELA_ENTRY_SIZE 24
