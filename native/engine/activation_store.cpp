#include "activation_store.h"

#include "errors.h"

namespace tang {

bool ActivationStore::reserve(int64_t n_embd, int64_t n_tokens, int64_t n_slots) {
    const size_t align = ggml_backend_buft_get_alignment(buft_);
    const size_t stride = (((size_t) (n_embd * n_tokens) * sizeof(float) + align - 1) / align) * align;
    const size_t need = stride * (size_t) (n_slots + 2);
    const bool moved = !buf_ || ggml_backend_buffer_get_size(buf_.get()) < need;
    if (moved) {
        buf_.reset();  // free the old buffer before asking for a bigger one
        buf_.reset(ggml_backend_buft_alloc_buffer(buft_, need));
        require(buf_ != nullptr, "not enough device memory for the activation checkpoints (" +
                                     std::to_string(need >> 20) + " MiB)");
    }
    n_embd_ = n_embd, n_tokens_ = n_tokens, n_slots_ = n_slots, stride_ = stride;
    return moved;
}

ggml_tensor * ActivationStore::bind(ggml_context * ctx, int64_t index) {
    ggml_tensor * t = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, n_embd_, n_tokens_);
    char * base = (char *) ggml_backend_buffer_get_base(buf_.get());
    require(ggml_backend_tensor_alloc(buf_.get(), t, base + (size_t) index * stride_) == GGML_STATUS_SUCCESS,
            "cannot place an activation checkpoint");
    return t;
}

ggml_tensor * ActivationStore::slot(ggml_context * ctx, int64_t i) {
    require(i >= 0 && i < n_slots_, "activation slot out of range");
    return bind(ctx, i);
}

ggml_tensor * ActivationStore::grad(ggml_context * ctx, int i) {
    require(i == 0 || i == 1, "gradient slot out of range");
    return bind(ctx, n_slots_ + i);
}

}  // namespace tang
