// Typed reads of GGUF metadata, shared by every reader of GGUF files (models, adapters, state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "gguf.h"

namespace tang {

// An integer of any width; nullopt when the key is absent or not an integer.
std::optional<int64_t> meta_int(const gguf_context * g, const std::string & key);
// A string; "" when the key is absent or not a string.
std::string meta_str(const gguf_context * g, const std::string & key);
// A float32; `fallback` when the key is absent or not a float32.
float meta_f32(const gguf_context * g, const std::string & key, float fallback);

}  // namespace tang
