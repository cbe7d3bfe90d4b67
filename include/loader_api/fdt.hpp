#pragma once
// Device tree reader: the entry header. See fdt/reader.hpp (header checks and
// the shared structure walk), fdt/decode.hpp (property values) and
// fdt/machine_info.hpp (everything the loader needs, in one walk).

#include "loader_api/fdt/decode.hpp"
#include "loader_api/fdt/machine_info.hpp"
#include "loader_api/fdt/reader.hpp"
