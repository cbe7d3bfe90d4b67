#include "console.hpp"

#include "common/sbi.hpp"
#include "common/spinlock.hpp"

namespace kernel {
namespace {

examples::SpinLock console_lock;

}  // namespace

void SbiConsole::put(char c) {
    if (c == '\n') examples::sbi::console_putchar('\r');
    examples::sbi::console_putchar(c);
}

ConsoleLine::ConsoleLine() : locked_(true) { console_lock.lock(); }

// About a second under QEMU: long enough for any line in progress, short
// enough that a hart which died holding the lock does not hide a trap report.
ConsoleLine::ConsoleLine(Forced) : locked_(console_lock.try_lock_for(1u << 24)) {}

ConsoleLine::~ConsoleLine() {
    if (locked_) console_lock.unlock();
}

}  // namespace kernel
