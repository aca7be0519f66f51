// A training graph built once for a micro-batch shape and launched again for every next micro-batch of
// that shape while its scheduler still holds its allocation: nothing is built, checked or allocated
// again. Its inputs live in DeviceBatch and ActivationStore, outside the graph, the dropout masks' key
// among them, so a new micro-batch is an upload, and the graph the same to the last byte: ggml-cuda
// replays it as a CUDA graph.
#pragma once

#include <cstdint>

#include "ggml-cpp.h"
#include "ggml.h"

namespace tang {

class PersistentGraph {
  public:
    struct Shape {
        int64_t rows = 0, len = 0, n_targets = 0, first_kept = -1;
        bool operator==(const Shape & o) const {
            return rows == o.rows && len == o.len && n_targets == o.n_targets && first_kept == o.first_kept;
        }
    };

    // This graph for a micro-batch of `shape`, when it was built for that shape and is the graph `held`
    // names (the id its scheduler holds allocated); else nullptr.
    ggml_cgraph * reuse(const Shape & shape, uint64_t held) const;
    // Takes gf, built in ctx for `shape`, in place of the last graph, under a new id.
    ggml_cgraph * keep(ggml_context_ptr ctx, ggml_cgraph * gf, const Shape & shape);
    void forget();  // the graph binds memory or weights that are gone: build it again next time
    uint64_t id() const { return id_; }  // never 0, never given twice

  private:
    ggml_context_ptr ctx_;
    ggml_cgraph * gf_ = nullptr;
    Shape shape_;
    uint64_t id_ = 0;
};

}  // namespace tang
