#pragma once
// A broken invariant inside the library (not bad input: bad input is an error
// value). In constant evaluation the trap is not a constant expression, so the
// build fails; at run time it stops at the faulting place on host and target.

#define KMEM_ASSERT(condition)          \
    do {                                \
        if (!(condition)) [[unlikely]]  \
            __builtin_trap();           \
    } while (false)
