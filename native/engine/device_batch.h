// The host-made tensors of one micro-batch on the training device: token ids, positions, the
// attention mask, the rows whose logits are taken and their target cells, the loss gradient's
// seed and the dropout masks' key, uploaded once before the micro-batch's first graph, plus a slot
// each graph's loss is copied to. Every graph of the micro-batch binds its inputs here rather than in its compute buffer, so no
// graph waits on a host copy between allocation and launch, and the trainer builds the next graph
// while the device computes the last. The buffer grows with the largest batch.
#pragma once

#include <cstdint>
#include <vector>

#include "ggml-backend.h"
#include "ggml-cpp.h"
#include "llama_graph.h"
#include "micro_batch.h"

namespace tang {

class DeviceBatch {
  public:
    explicit DeviceBatch(ggml_backend_buffer_type_t buft) : buft_(buft) {}

    // Takes b's shapes (logits at b's targets, or at every token with all_rows; target cells with
    // targets) and, with upload, copies the data to the device (nothing may be computing then).
    // Without upload, inputs() only sizes graphs. True when the buffer moved (tensors bound to the old
    // one are stale).
    bool set(const MicroBatch & b, int64_t n_vocab, bool all_rows, bool targets, float seed, uint64_t dropout_key, bool upload);
    // New tensors of ctx, one per input: on the uploaded data, or (not uploaded) unallocated graph
    // inputs of the same shapes, which a scheduler sizes into its compute buffer.
    GraphInputs inputs(ggml_context * ctx) const;
    float loss() const;  // the loss slot, once the device has finished the graphs that wrote it

  private:
    struct Field {
        ggml_type type;
        int64_t ne[4];
        const void * host;  // the data set() was given (valid during set only)
        size_t offset;
    };
    ggml_tensor * make(ggml_context * ctx, const Field & f) const;

    ggml_backend_buffer_type_t buft_;
    ggml_backend_buffer_ptr buf_;
    bool uploaded_ = false;
    // tokens, positions, mask, out_rows, target_cells, seed, dropout_key, loss (ne[0] == 0: absent)
    std::vector<Field> fields_;
};

}  // namespace tang
