/* The kernel ELF file inside the loader image. KERNEL_ELF names the file;
   without it the blob is empty and the loader takes the kernel from the
   initrd. Assembled by a custom target so that a new kernel relinks the
   loader (meson tracks the file as the target's input). */
    .section .kernel_elf, "a"
    .balign 4096
    .globl loader_kernel_elf_start
loader_kernel_elf_start:
#ifdef KERNEL_ELF
    .incbin KERNEL_ELF
#endif
    .globl loader_kernel_elf_end
loader_kernel_elf_end:
