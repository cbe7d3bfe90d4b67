/* The SBI extension and function ids, reset types and reasons the examples
   use (RISC-V SBI specification v1.0/v2.0), once: plain #defines so that
   both assembly (the loader's entry.S, preprocessed) and C++ (sbi.hpp) take
   them from here. */
#pragma once

/* Extension ids (a7). The legacy console putchar ignores the function id. */
#define SBI_EXT_LEGACY_PUTCHAR 0x01
#define SBI_EXT_BASE 0x10
#define SBI_EXT_DBCN 0x4442434E /* "DBCN" */
#define SBI_EXT_HSM 0x48534D    /* "HSM" */
#define SBI_EXT_SRST 0x53525354 /* "SRST" */

/* Function ids (a6), per extension. */
#define SBI_BASE_PROBE_EXTENSION 3
#define SBI_DBCN_CONSOLE_WRITE_BYTE 2
#define SBI_HSM_HART_START 0
#define SBI_HSM_HART_STOP 1
#define SBI_HSM_HART_GET_STATUS 2
#define SBI_SRST_SYSTEM_RESET 0

/* SRST system_reset arguments. */
#define SBI_SRST_TYPE_SHUTDOWN 0
#define SBI_SRST_TYPE_COLD_REBOOT 1
#define SBI_SRST_TYPE_WARM_REBOOT 2
#define SBI_SRST_REASON_NONE 0
#define SBI_SRST_REASON_SYSTEM_FAILURE 1
