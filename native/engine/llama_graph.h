// Graph pieces of a llama-family model with LoRA on its projections, over one micro-batch,
// with exactly llama.cpp's inference math (RMSNorm, RoPE, soft-max attention with a mask,
// SwiGLU; LoRA added after W x, before any bias). Rows are attended
// separately; packed samples within a row are kept apart by the mask.
//
// The model is a chain of 2 * n_layer residual blocks; block b belongs to layer b / 2:
//   b even (attention):    x + P_o   (attention(norm(x)))
//   b odd  (feed-forward): x + P_down(swiglu(P_gate(norm(x)), P_up(norm(x))))
// with P_m(a) = W_m a + B_m (A_m (scale * dropout(a))), which is peft's scale * B (A dropout(a)).
// block_inner(b, x) is the block's `a`, the input of its out projection (o or down). Training
// with checkpointing keeps only block inputs and recomputes each block in its backward pass
// (trainer.cpp); block_backward gives that pass its roots.
#pragma once

#include <cstdint>

#include "base_model.h"
#include "ggml-backend.h"
#include "ggml.h"
#include "lora_adapter.h"
#include "micro_batch.h"

namespace tang {

// The host-made tensors of a graph (device_batch.h makes them; nullptr = absent).
struct GraphInputs {
    ggml_tensor * tokens = nullptr;      // I32 (T)            T = rows * len
    ggml_tensor * positions = nullptr;   // I32 (T)
    ggml_tensor * mask = nullptr;        // F32 (len, len, 1, rows)
    ggml_tensor * out_rows = nullptr;    // I32 (n_out)        token indices whose logits are computed
    ggml_tensor * target_cells = nullptr;  // I64 (n_out)    i * n_vocab + the token row i must predict
    ggml_tensor * seed = nullptr;        // F32 (1)            dL/d(the graph's loss): the loss scale
    ggml_tensor * dropout_key = nullptr; // I64 (1)            the micro-batch's part of every dropout mask's key
    ggml_tensor * loss = nullptr;        // F32 (1)            where a graph copies its loss, or nullptr
};

// Block b's backward pass from g = dL/d(block output), as autodiff roots whose gradients are given
// rather than one scalar loss: a = block_inner(b, x) with dL/da = wt_g = W^T g, the frozen out
// projection's input gradient (so its forward product W a is never computed), and, when that
// projection has LoRA, its delta d with dL/dd = g. The residual's identity term is the caller's.
struct BlockBackward {
    ggml_tensor * a = nullptr;     // (in, T)   in = n_embd (attention) or n_ff (feed-forward)
    ggml_tensor * wt_g = nullptr;  // (in, T)
    ggml_tensor * d = nullptr;     // (n_embd, T), or nullptr
};

class GraphBuilder {
  public:
    // ctx: a no_alloc context big enough for the graph. lora may be null (base model).
    // dropout: LoRA inputs get dropout (training, when cfg.dropout > 0), each mask keyed by in.dropout_key
    // (read as the graph runs) and the layer and module (so a recomputed block gets the same ones).
    GraphBuilder(ggml_context * ctx, const BaseModel & model, const LoraAdapter * lora, const MicroBatch & batch,
                 bool dropout, const GraphInputs & in);

    int64_t n_blocks() const { return 2 * model_.hp.n_layer; }
    bool block_has_lora(int64_t b) const;

    ggml_tensor * embed();                                   // (n_embd, T)
    ggml_tensor * block(int64_t b, ggml_tensor * x);         // (n_embd, T) -> (n_embd, T)
    ggml_tensor * block_inner(int64_t b, ggml_tensor * x);   // (n_embd, T) -> (n_embd or n_ff, T)
    ggml_tensor * logits(ggml_tensor * x);                   // final norm, rows out_rows -> (n_vocab, n_out)
    ggml_tensor * loss(ggml_tensor * logits);                // scalar: mean cross-entropy against target_cells

    // g: (n_embd, T). expand_on: the backend the graph runs on, or nullptr; where that backend can, the
    // quantized weights that the recomputed forward multiplies and dL/dx multiplies again (q, k, v; gate, up)
    // are expanded to bf16 once, in the graph, instead of once per product.
    BlockBackward block_backward(int64_t b, ggml_tensor * x, ggml_tensor * g, ggml_backend_t expand_on);

  private:
    ggml_tensor * frozen(int64_t il, Module m);
    ggml_tensor * proj(int64_t il, Module m, ggml_tensor * x);
    ggml_tensor * lora_delta(int64_t il, Module m, ggml_tensor * x);
    ggml_tensor * norm(ggml_tensor * x, ggml_tensor * w);
    ggml_tensor * rope(ggml_tensor * x);
    ggml_tensor * repeat_heads(ggml_tensor * x);
    ggml_tensor * attention(int64_t il, ggml_tensor * h);

    ggml_context * ctx_;
    const BaseModel & model_;
    const LoraAdapter * lora_;
    const MicroBatch & batch_;
    bool dropout_;
    const GraphInputs & in_;
    ggml_backend_t expand_on_ = nullptr;  // set while block_backward builds the recomputed forward
};

// The whole forward pass: logits at out_rows (n_out of them), and the loss when asked.
struct GraphOutputs {
    ggml_tensor * logits = nullptr;  // (n_vocab, n_out)
    ggml_tensor * loss = nullptr;    // scalar, or nullptr
};
GraphOutputs build_llama_forward(ggml_context * ctx, const BaseModel & model, const LoraAdapter * lora,
                                 const MicroBatch & batch, bool with_loss, const GraphInputs & in);

}  // namespace tang
