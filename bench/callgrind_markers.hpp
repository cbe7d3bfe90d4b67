#pragma once
// Brackets the code a benchmark measures under
// `valgrind --tool=callgrind --instr-atstart=no --collect-atstart=no`: only
// what runs between BENCH_MEASURE_BEGIN() and BENCH_MEASURE_END() is counted,
// so setup and checks cost nothing in the figure. Without valgrind's header,
// or outside valgrind, the client requests do nothing.

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define BENCH_MEASURE_BEGIN()            \
    do {                                 \
        CALLGRIND_START_INSTRUMENTATION; \
        CALLGRIND_TOGGLE_COLLECT;        \
    } while (false)
#define BENCH_MEASURE_END()             \
    do {                                \
        CALLGRIND_TOGGLE_COLLECT;       \
        CALLGRIND_STOP_INSTRUMENTATION; \
    } while (false)
#else
#define BENCH_MEASURE_BEGIN() \
    do {                      \
    } while (false)
#define BENCH_MEASURE_END() \
    do {                    \
    } while (false)
#endif
