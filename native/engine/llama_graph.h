// The forward graph of a llama-family model with LoRA on its projections, over one
// micro-batch, with exactly llama.cpp's inference math (RMSNorm, RoPE, soft-max attention
// with a mask, SwiGLU; LoRA added as scale * B (A x) after W x, before any bias).
// Rows are attended separately; packed samples within a row are kept apart by the mask.
#pragma once

#include <cstdint>
#include <vector>

#include "base_model.h"
#include "ggml.h"
#include "lora_adapter.h"
#include "micro_batch.h"

namespace tang {

struct GraphInputs {
    ggml_tensor * tokens = nullptr;     // I32 (T)           T = rows * len
    ggml_tensor * positions = nullptr;  // I32 (T)
    ggml_tensor * mask = nullptr;       // F32 (len, len, 1, rows)
    ggml_tensor * out_rows = nullptr;   // I32 (n_out)       token indices whose logits are computed
    ggml_tensor * labels = nullptr;     // F32 (n_vocab, n_out) one-hot targets; training/eval only
    // dropout, one pair per LoRA projection: random offsets whose sums hash to the keep-mask
    std::vector<ggml_tensor *> dropout_cols;  // F32 (in, 1)
    std::vector<ggml_tensor *> dropout_rows;  // F32 (1, T)
};

struct GraphOutputs {
    ggml_tensor * logits = nullptr;  // (n_vocab, n_out)
    ggml_tensor * loss = nullptr;    // scalar mean cross-entropy over n_out; nullptr for logits only
};

// ctx must be a no_alloc context big enough for the graph. lora may be null (base model).
// with_dropout: add dropout-mask inputs for every LoRA pair (training with cfg.dropout > 0).
GraphOutputs build_llama_graph(ggml_context * ctx, const BaseModel & model, const LoraAdapter * lora,
                               const MicroBatch & batch, int64_t n_out, bool with_loss, bool with_dropout,
                               GraphInputs & in);

}  // namespace tang
