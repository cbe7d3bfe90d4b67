/* The first page of the loader image: the headers that make one file three
   doors at once.

   - Byte 0 is where OpenSBI (QEMU -kernel, the ELF's entry) and U-Boot's
     booti jump: two harmless bytes, then a jump to _start.
   - Bytes 0..63 are the Linux RISC-V Image header (Linux,
     Documentation/arch/riscv/boot-image-header.rst) that booti reads.
   - The same bytes begin with "MZ", and the Image header's res3 (offset
     0x3c, where a DOS header keeps e_lfanew) points at a PE32+ header right
     after it: an EFI application (UEFI specification, section 2.1.1; PE
     format as Microsoft documents it) whose sections cover the rest of the
     image, .bss and the stacks included, and whose entry is
     loader_efi_entry.

   The rest of the page is padding, but for the loader's statistics record
   (loader_stats.h), zero in the file: the PE sections start page-aligned at
   _start. Every size below is a difference of link-time symbols, so the
   headers hold no address (check_image.py proves it). Values: image_header.h.
   tests/boot/check_image_header.py checks every field. */

#include "image_header.h"
#include "loader_stats.h"

    .section .text.image_header, "ax", @progbits
    .option push
    .option norvc
    .option norelax
    .globl loader_image_start
loader_image_start:
    /* code0, code1: "MZ" decodes as c.li s4, -13, then a 4-byte jump. */
    .ascii "MZ"
    j _start
    .2byte 0
    .dword IMAGE_TEXT_OFFSET                    /* text_offset */
    .dword __loader_end - loader_image_start    /* image_size: through .bss and the stacks */
    .dword IMAGE_FLAGS                          /* flags */
    .word IMAGE_VERSION                         /* version */
    .word 0                                     /* res1 */
    .dword 0                                    /* res2 */
    .ascii IMAGE_MAGIC                          /* magic */
    .ascii IMAGE_MAGIC2                         /* magic2 */
    .word .Lpe_header - loader_image_start      /* res3: the PE header's offset (e_lfanew) */

.Lpe_header:
    .ascii "PE\0\0"
    /* COFF file header */
    .2byte PE_MACHINE_RISCV64
    .2byte 2                                    /* NumberOfSections: .text, .data */
    .word 0                                     /* TimeDateStamp */
    .word 0                                     /* PointerToSymbolTable */
    .word 0                                     /* NumberOfSymbols */
    .2byte .Lsection_table - .Loptional_header  /* SizeOfOptionalHeader */
    .2byte PE_CHARACTERISTICS
.Loptional_header:
    .2byte PE_OPTIONAL_MAGIC_PE32PLUS
    .byte 0, 0                                  /* linker version */
    .word __loader_data_start - .Lpe_text_start /* SizeOfCode */
    .word __loader_file_end - __loader_data_start   /* SizeOfInitializedData */
    .word __loader_end - __loader_file_end      /* SizeOfUninitializedData: .stacks, .bss */
    .word loader_efi_entry - loader_image_start /* AddressOfEntryPoint */
    .word .Lpe_text_start - loader_image_start  /* BaseOfCode */
    /* ImageBase 0: the image relocates itself (entry.S) and needs no base
       relocations from the firmware. */
    .dword 0
    .word PE_SECTION_ALIGNMENT
    .word PE_FILE_ALIGNMENT
    .2byte 0, 0                                 /* operating system version */
    .2byte 0, 0                                 /* image version */
    .2byte 0, 0                                 /* subsystem version */
    .word 0                                     /* Win32VersionValue */
    .word __loader_end - loader_image_start     /* SizeOfImage */
    .word .Lpe_text_start - loader_image_start  /* SizeOfHeaders */
    .word 0                                     /* CheckSum */
    .2byte PE_SUBSYSTEM_EFI_APPLICATION
    .2byte 0                                    /* DllCharacteristics */
    .dword 0, 0, 0, 0                           /* stack and heap reserve and commit */
    .word 0                                     /* LoaderFlags */
    .word PE_DATA_DIRECTORIES                   /* NumberOfRvaAndSizes */
    /* Export, import, resource, exception, certificate and base-relocation
       tables: none. */
    .rept PE_DATA_DIRECTORIES
    .word 0, 0
    .endr

.Lsection_table:
    .ascii ".text\0\0\0"
    .word __loader_data_start - .Lpe_text_start /* VirtualSize */
    .word .Lpe_text_start - loader_image_start  /* VirtualAddress */
    .word __loader_data_start - .Lpe_text_start /* SizeOfRawData */
    .word .Lpe_text_start - loader_image_start  /* PointerToRawData */
    .word 0, 0                                  /* relocations, line numbers */
    .2byte 0, 0
    .word PE_SCN_TEXT

    .ascii ".data\0\0\0"
    .word __loader_end - __loader_data_start    /* VirtualSize: the stored data, .stacks and .bss */
    .word __loader_data_start - loader_image_start
    .word __loader_file_end - __loader_data_start
    .word __loader_data_start - loader_image_start
    .word 0, 0
    .2byte 0, 0
    .word PE_SCN_DATA

    .org LOADER_STATS_OFFSET
    .globl loader_stats_record
loader_stats_record:
    .space LOADER_STATS_SIZE
    /* The PE sections begin at the next page, where _start is. Padded here,
       under norelax: a relaxable alignment would leave the linker to trim
       a worst-case reservation. */
    .balign PE_SECTION_ALIGNMENT
.Lpe_text_start:
    .option pop
