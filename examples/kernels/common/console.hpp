#pragma once
// The kernels' console: the legacy SBI putchar (examples/common/sbi.hpp,
// shared with the reference loader), which every OpenSBI provides, so a
// kernel prints from its first instruction without a UART driver.
//
// Output is by whole lines: a ConsoleLine holds the console lock from its
// construction to its destruction, so lines from different harts never
// interleave. It is a kmem::CharSink, so everything in kmem/format.hpp and
// loader_api/reflect.hpp writes to it.

#include <concepts>
#include <cstdint>
#include <string_view>

#include "kmem/format.hpp"

namespace kernel {

// Unlocked: one character to the SBI console, with "\n" sent as "\r\n".
struct SbiConsole {
    void put(char c);
};
static_assert(kmem::CharSink<SbiConsole>);

class ConsoleLine {
public:
    ConsoleLine();
    // The trap path: waits a bounded time for the lock, then prints anyway.
    struct Forced {};
    explicit ConsoleLine(Forced);
    ~ConsoleLine();
    ConsoleLine(const ConsoleLine&) = delete;
    ConsoleLine& operator=(const ConsoleLine&) = delete;

    void put(char c) { out_.put(c); }

private:
    SbiConsole out_;
    bool locked_ = false;
};
static_assert(kmem::CharSink<ConsoleLine>);

// println([&](auto& out) { kmem::print(out, "..."); }): one locked line, the
// newline added.
template <class Body>
    requires std::invocable<Body&, ConsoleLine&>
void println(Body&& body) {
    ConsoleLine line;
    body(line);
    line.put('\n');
}

inline void println(std::string_view text) {
    println([&](ConsoleLine& out) { kmem::print(out, text); });
}

}  // namespace kernel
