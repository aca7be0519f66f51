// quantize: a GGUF model to another type mix through libllama's own quantizer (the same
// choices as llama-quantize: Q4_K_M keeps some tensors at Q6_K, and so on). Atomic output.
#pragma once

#include <string>

namespace tang {

// type: f32 f16 bf16 q8_0 q4_0 q4_1 q4_k_s q4_k_m q5_k_m q6_k (case-insensitive)
void quantize_model(const std::string & in, const std::string & out, const std::string & type, int n_threads);

}  // namespace tang
