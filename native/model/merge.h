// merge: a GGUF model with LoRA adapters folded into its weights, W' = W + scale * (alpha / r) * B A
// for every weight an adapter holds factors for (dequantized to f32, merged, quantized back to
// the weight's own type); every other tensor and all metadata are copied. One standalone model
// that needs no adapter; written atomically.
#pragma once

#include <string>
#include <vector>

#include "adapter_ref.h"

namespace tang {

void merge_adapters(const std::string & base, const std::vector<AdapterRef> & adapters, const std::string & out);

}  // namespace tang
