// Device memory that a checkpointed training step keeps between its graphs: slot i holds the
// input of residual block i, for every block the step recomputes and for the first one it keeps
// (with none kept, slot 2 * n_layer: the last block's output); two gradient slots carry dL/dx
// from one block's backward graph to the next. Every slot is (n_embd, T) f32 for the current micro-batch's T tokens; the buffer
// grows when a micro-batch has more tokens than any before.
#pragma once

#include <cstdint>

#include "ggml-backend.h"
#include "ggml-cpp.h"
#include "ggml.h"

namespace tang {

class ActivationStore {
  public:
    explicit ActivationStore(ggml_backend_buffer_type_t buft) : buft_(buft) {}

    // Before a micro-batch; true when the buffer moved (tensors bound to the old one are stale).
    bool reserve(int64_t n_embd, int64_t n_tokens, int64_t n_slots);
    ggml_tensor * slot(ggml_context * ctx, int64_t i);  // a new (n_embd, T) tensor of ctx on slot i's memory
    ggml_tensor * grad(ggml_context * ctx, int i);      // the same on gradient slot i (0 or 1)

  private:
    ggml_tensor * bind(ggml_context * ctx, int64_t index);  // index over slots, then gradient slots

    ggml_backend_buffer_type_t buft_;
    ggml_backend_buffer_ptr buf_;
    int64_t n_embd_ = 0, n_tokens_ = 0, n_slots_ = 0;
    size_t stride_ = 0;  // bytes per slot in buf_
};

}  // namespace tang
