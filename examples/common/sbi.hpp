#pragma once
// The few SBI calls the reference loader and the example kernels make
// (RISC-V SBI specification v1.0/v2.0); the ids are in sbi_ids.h, which the
// loader's assembly includes too. The loader's console falls back to SBI when the device tree names no UART the loader
// can drive: DBCN (SBI 2.0) where the implementation has it, else the legacy
// putchar (EID 0x01) that every OpenSBI still provides. OpenSBI 1.1, which
// QEMU 7.2 ships, has no DBCN, so only the legacy path runs in the tests.

#include <cstdint>

#include "sbi_ids.h"

namespace examples::sbi {

struct Result {
    long error;  // SBI error code; 0 is success
    long value;
};

enum class Eid : long {
    kLegacyPutchar = SBI_EXT_LEGACY_PUTCHAR,
    kBase = SBI_EXT_BASE,
    kDbcn = SBI_EXT_DBCN,
    kHsm = SBI_EXT_HSM,
    kSrst = SBI_EXT_SRST,
};

inline Result call(Eid eid, long fid, long arg0 = 0, long arg1 = 0, long arg2 = 0) {
    register long a0 asm("a0") = arg0;
    register long a1 asm("a1") = arg1;
    register long a2 asm("a2") = arg2;
    register long a6 asm("a6") = fid;
    register long a7 asm("a7") = static_cast<long>(eid);
    asm volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a2), "r"(a6), "r"(a7) : "memory");
    return {a0, a1};
}

// Names of the standard SBI error codes, for messages such as
// "hart 3: hart_start failed: already available (-6)".
constexpr const char* error_name(long error) {
    switch (error) {
        case 0: return "success";
        case -1: return "failed";
        case -2: return "not supported";
        case -3: return "invalid parameter";
        case -4: return "denied";
        case -5: return "invalid address";
        case -6: return "already available";
        case -7: return "already started";
        case -8: return "already stopped";
        case -9: return "no shared memory";
        default: return "unknown error";
    }
}

inline void console_putchar(char c) {
    // Legacy extensions take the argument in a0 and ignore the FID.
    (void)call(Eid::kLegacyPutchar, 0, static_cast<unsigned char>(c));
}

inline void debug_console_write_byte(char c) {
    (void)call(Eid::kDbcn, SBI_DBCN_CONSOLE_WRITE_BYTE, static_cast<unsigned char>(c));
}

// Nonzero value when the extension is implemented.
inline bool probe_extension(Eid eid) {
    const Result result = call(Eid::kBase, SBI_BASE_PROBE_EXTENSION, static_cast<long>(eid));
    return result.error == 0 && result.value != 0;
}

// hart_start: the hart begins at the physical address `start` in
// S-mode with satp = 0, sstatus.SIE = 0, a0 = its hart id and a1 = `opaque`.
inline Result hart_start(std::uint64_t hart_id, std::uint64_t start, std::uint64_t opaque) {
    return call(Eid::kHsm, SBI_HSM_HART_START, static_cast<long>(hart_id), static_cast<long>(start),
                static_cast<long>(opaque));
}

enum class HartState : long {
    kStarted = 0,
    kStopped = 1,
    kStartPending = 2,
    kStopPending = 3,
    kSuspended = 4,
    kSuspendPending = 5,
    kResumePending = 6,
};

// `error` is set for an invalid hart id.
inline Result hart_get_status(std::uint64_t hart_id) {
    return call(Eid::kHsm, SBI_HSM_HART_GET_STATUS, static_cast<long>(hart_id));
}

enum class ResetType : long {
    kShutdown = SBI_SRST_TYPE_SHUTDOWN,
    kColdReboot = SBI_SRST_TYPE_COLD_REBOOT,
    kWarmReboot = SBI_SRST_TYPE_WARM_REBOOT,
};
enum class ResetReason : long { kNone = SBI_SRST_REASON_NONE, kSystemFailure = SBI_SRST_REASON_SYSTEM_FAILURE };

// Returns only when the reset could not be done.
inline Result system_reset(ResetType type, ResetReason reason) {
    return call(Eid::kSrst, SBI_SRST_SYSTEM_RESET, static_cast<long>(type), static_cast<long>(reason));
}

}  // namespace examples::sbi
