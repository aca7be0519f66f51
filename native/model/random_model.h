// create-model: writes a random-initialized llama-family GGUF of a given shape and weight
// type, with the tokenizer of a real vocabulary GGUF (llama.cpp's models/ggml-vocab-*.gguf).
//
// The weights come from a counter-based generator so that an independent implementation
// (test/reference/make_fixtures.py) reproduces them bit for bit. For the t-th tensor of the
// file (order: token_embd; per layer attn_norm, attn_q, attn_k, attn_v, attn_output,
// ffn_norm, ffn_gate, ffn_up, ffn_down[, attn_q.bias, attn_k.bias, attn_v.bias];
// output_norm; output) and its j-th element (flat, ggml order):
//   z = splitmix64_mix(seed * 0x9E3779B97F4A7C15 + (t + 1) * 0xD1B54A32D192ED03 + j)   (mod 2^64)
//   u = (z >> 40) * 2^-24                          in [0, 1), exact in float32
//   norm weights:   1 + 0.1f * (2u - 1)
//   biases:         0.1f * (2u - 1)
//   token_embd:     (2u - 1)
//   output:         (2u - 1) * (output_scale * (1 / sqrt(float(ne[0]))))
//   other matrices: (2u - 1) * (1 / sqrt(float(ne[0])))
// all in float32 arithmetic, then quantized to the requested type by ggml.
#pragma once

#include <cstdint>
#include <string>

#include "ggml.h"
#include "rng.h"  // splitmix64_mix, counter_bits24: u above is counter_bits24(...) * 2^-24

namespace tang {

struct RandomModelSpec {
    std::string arch = "llama";
    int64_t n_layer = 2;
    int64_t n_embd = 64;
    int64_t n_ff = 128;
    int64_t n_head = 4;
    int64_t n_head_kv = 2;
    int64_t n_ctx = 4096;
    float rope_base = 10000.0f;
    float eps = 1e-5f;
    ggml_type type = GGML_TYPE_F32;  // of the 2-D weights; norms and biases stay f32
    std::string vocab_path;          // GGUF whose tokenizer.* metadata is copied
    uint64_t seed = 0;
    // Sharper output weights give larger logits: with 8, a normalized hidden state's logits have
    // a std of ~4.6, so a LoRA can make even a small model confident (demo, learning test).
    float output_scale = 1.0f;
    std::string chat_template;  // written as tokenizer.chat_template when not empty
};

struct RandomModelResult {
    int64_t n_vocab = 0;
    uint64_t n_params = 0;
    uint64_t file_size = 0;
};

RandomModelResult write_random_model(const RandomModelSpec & spec, const std::string & out_path);

}  // namespace tang
