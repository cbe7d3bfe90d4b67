// Prints the sample BootInfo (and a default LoaderConfig) as JSON on
// stdout; check_json.py parses it with Python's json module.

#include <cstdio>

#include "loader_api/reflect.hpp"
#include "sample_boot_info.hpp"

namespace {
struct StdoutSink {
    void put(char c) { std::putchar(c); }
};
}  // namespace

int main() {
    sample::Block block;
    sample::build(block);
    StdoutSink sink;
    kmem::write(sink, "{\"boot_info\":");
    loader_api::reflect::write_boot_info_json(sink, block.info());
    kmem::write(sink, ",\"loader_config\":");
    loader_api::reflect::write_json(sink, loader_api::LoaderConfig{});
    kmem::write(sink, "}\n");
    return 0;
}
