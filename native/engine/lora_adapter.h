// The trainable LoRA tensors of one adapter, with their gradient accumulators and AdamW
// moments, all on the training device. For each layer and each target module:
//   A (in, r)   lora_a: ne = [in, r]   peft init kaiming-uniform(a = sqrt 5): U(-1/sqrt(in), 1/sqrt(in))
//   B (r, out)  lora_b: ne = [r, out]  peft init zeros
// and the module's output becomes W x + (alpha / r) * B (A dropout(x)).
// File formats: the adapter GGUF is llama.cpp's LoRA format (adapter_file.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ggml-backend.h"
#include "ggml-cpp.h"
#include "ggml.h"
#include "llama_layout.h"

namespace tang {

struct LoraConfig {
    int64_t rank = 8;
    float alpha = 16.0f;
    float dropout = 0.05f;
    std::vector<Module> targets{kAllModules.begin(), kAllModules.end()};
    uint64_t seed = 42;

    float scale() const { return alpha / (float) rank; }
    bool targets_module(Module m) const;
};

struct LoraPair {
    int64_t layer;
    Module module;
    ggml_tensor * a;         // (in, r)   trainable
    ggml_tensor * b;         // (r, out)  trainable
    ggml_tensor * grad_a;    // (in, r)   accumulated over the micro-batches of a step
    ggml_tensor * grad_b;    // (r, out)
    ggml_tensor * m_a, * v_a, * m_b, * v_b;  // AdamW first and second moments
};

class LoraAdapter {
  public:
    LoraAdapter(const Hparams & hp, const LoraConfig & cfg, ggml_backend_buffer_type_t buft);
    LoraAdapter(const LoraAdapter &) = delete;
    LoraAdapter & operator=(const LoraAdapter &) = delete;

    const LoraConfig cfg;
    std::vector<LoraPair> pairs;  // layer-major, modules in kAllModules order

    const LoraPair * find(int64_t layer, Module m) const;  // nullptr when not targeted
    ggml_tensor * tensor(const std::string & name) const;   // by name, e.g. "blk.0.attn_q.weight.lora_a.grad"
    void init_peft();           // A kaiming-uniform from cfg.seed, B zero, moments zero
    void zero_grads();
    void zero_moments();
    size_t n_params() const;

    // Each of the four banks as one flat f32 tensor (n): every parameter, every gradient, AdamW's
    // m, AdamW's v, element i of one matching element i of the others (the optimizer runs on these).
    ggml_tensor * flat_params() const { return flat_[0]; }
    ggml_tensor * flat_grads() const { return flat_[1]; }
    ggml_tensor * flat_m() const { return flat_[2]; }
    ggml_tensor * flat_v() const { return flat_[3]; }

    // Host copies, for tests, files and the grad-norm check.
    static std::vector<float> read(const ggml_tensor * t);
    static void write(ggml_tensor * t, const std::vector<float> & data);

  private:
    static constexpr int kBanks = 4;
    ggml_context_ptr ctx_;
    ggml_backend_buffer_ptr banks_[kBanks];  // a and b; their grads; m; v (same layout)
    ggml_context_ptr flat_ctx_;
    ggml_tensor * flat_[kBanks] = {};
};

}  // namespace tang
