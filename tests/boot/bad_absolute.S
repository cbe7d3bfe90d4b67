/* A word that holds an address no relocation fixes at run time:
   loader_bad_absolute is an absolute symbol set from the link address
   (meson.build), the kind of value a linker script's ABSOLUTE() makes, and
   32 bits of it have no dynamic relocation on RV64. check_image.py must
   refuse an image that holds it. */
    .section .data.bad_absolute, "aw", @progbits
    .balign 4
    .globl loader_bad_absolute_word
loader_bad_absolute_word:
    .word loader_bad_absolute
