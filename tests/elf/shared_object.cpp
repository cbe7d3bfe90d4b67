// A riscv64 shared object (built with -shared): pointers to its own
// default-visibility functions become R_RISCV_64 relocations against defined
// symbols, which a PIE never has. No TLS and no calls through the PLT, so
// every relocation is one the reader supports.

extern "C" {
int exported_one() { return 1; }
int exported_two() { return 2; }
int exported_data = 42;

using Function = int (*)();
extern const Function exported_table[] = {exported_one, exported_two};
extern int* const data_pointer = &exported_data;
int* data_pointer_plus = &exported_data + 3;
}
