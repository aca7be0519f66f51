// The frozen base model: a llama-family GGUF read into one backend buffer on the chosen
// device (CPU or a CUDA GPU). Hyperparameters come from the GGUF metadata; anything the
// engine cannot train on (another arch, a missing tensor, a wrong shape, an unsupported
// type) is rejected with tang::Error before any compute.
#pragma once

#include <string>
#include <vector>

#include "ggml-backend.h"
#include "ggml-cpp.h"
#include "ggml.h"
#include "llama_layout.h"

namespace tang {

struct LayerWeights {
    ggml_tensor * attn_norm;            // (n_embd)
    ggml_tensor * w[kModules];          // indexed by Module: q, k, v, o, gate, up, down
    ggml_tensor * bq, * bk, * bv;       // (n_embd), (n_embd_kv), (n_embd_kv); qwen2 only
    ggml_tensor * ffn_norm;             // (n_embd)
};

// The matrices the products read (every layer's projections, and the output when not tied) live
// in their own buffer, so that expand_to_bf16 can trade their file type for bf16 copies.
class BaseModel {
  public:
    // dev: the ggml device to hold the weights (its buffer type); nullptr = CPU.
    BaseModel(const std::string & path, ggml_backend_dev_t dev);
    BaseModel(const BaseModel &) = delete;
    BaseModel & operator=(const BaseModel &) = delete;

    const std::string path;
    Hparams hp;
    ggml_tensor * tok_embd = nullptr;     // (n_embd, n_vocab)
    ggml_tensor * output_norm = nullptr;  // (n_embd)
    ggml_tensor * output = nullptr;       // (n_embd, n_vocab); == tok_embd when tied
    ggml_tensor * rope_freqs = nullptr;   // (n_rot/2) or nullptr
    std::vector<LayerWeights> layers;     // n_layer
    size_t weight_bytes() const;

    // Replaces each quantized product matrix with a bf16 copy (dequantized and rounded to bf16 on
    // the device, by backend: what a GPU product expands it to on every call) and frees the
    // quantized ones. bf16_extra_bytes: the memory that adds (0: none is quantized).
    void expand_to_bf16(ggml_backend_t backend);
    size_t bf16_extra_bytes() const;
    size_t quantized_product_bytes() const;  // the quantized matrices: held beside their copies while expanding
    int64_t largest_product() const;         // elements of the largest product matrix

  private:
    std::vector<ggml_tensor **> products();  // where the graph finds each product matrix (a tied output
                                             // is the embedding table, which stays as it is)

    ggml_backend_buffer_type_t buft_;
    ggml_context_ptr ctx_;                // tensor metadata, as in the file
    ggml_backend_buffer_ptr buf_;         // norms, embeddings, biases
    ggml_context_ptr products_ctx_;       // the product matrices
    ggml_backend_buffer_ptr products_buf_;
};

}  // namespace tang
