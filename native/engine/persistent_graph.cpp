#include "persistent_graph.h"

#include <atomic>

namespace tang {

namespace {

std::atomic<uint64_t> g_next_id{1};

}  // namespace

ggml_cgraph * PersistentGraph::reuse(const Shape & shape, uint64_t held) const {
    return gf_ && held == id_ && shape == shape_ ? gf_ : nullptr;
}

ggml_cgraph * PersistentGraph::keep(ggml_context_ptr ctx, ggml_cgraph * gf, const Shape & shape) {
    ctx_ = std::move(ctx);
    gf_ = gf;
    shape_ = shape;
    id_ = g_next_id++;
    return gf_;
}

void PersistentGraph::forget() {
    ctx_.reset();
    gf_ = nullptr;
    id_ = 0;
}

}  // namespace tang
