#pragma once
// Host only (std::string): anything with a format(CharSink&) as one string,
// for tests and tools that compare or print messages.

#include <string>

#include "kmem/format.hpp"

namespace loader_api::host {

struct StringSink {
    std::string text;
    void put(char c) { text.push_back(c); }
};
static_assert(kmem::CharSink<StringSink>);

template <class T>
std::string text_of(const T& value) {
    StringSink sink;
    value.format(sink);
    return std::move(sink.text);
}

}  // namespace loader_api::host
