#include "device_batch.h"

#include <numeric>

#include "errors.h"

namespace tang {

namespace {

enum FieldIndex { kTokens, kPositions, kMask, kOutRows, kTargetCells, kSeed, kDropoutKey, kLoss, kFields };

}  // namespace

bool DeviceBatch::set(const MicroBatch & b, int64_t n_vocab, bool all_rows, bool targets, float seed, uint64_t dropout_key,
                      bool upload) {
    const int64_t T = b.n_tokens(), L = b.len;
    std::vector<int32_t> rows = b.target_rows;
    if (all_rows) {
        rows.resize((size_t) T);
        std::iota(rows.begin(), rows.end(), 0);
    }
    std::vector<int64_t> cells;
    if (targets) {
        cells.resize(b.target_tokens.size());
        for (size_t i = 0; i < cells.size(); ++i) cells[i] = (int64_t) i * n_vocab + b.target_tokens[i];
    }
    const int64_t n_cells = (int64_t) cells.size();
    fields_ = {
        {GGML_TYPE_I32, {T, 1, 1, 1}, b.tokens.data(), 0},
        {GGML_TYPE_I32, {T, 1, 1, 1}, b.positions.data(), 0},
        {GGML_TYPE_F32, {L, L, 1, b.rows}, b.mask.data(), 0},
        {GGML_TYPE_I32, {(int64_t) rows.size(), 1, 1, 1}, rows.data(), 0},
        {GGML_TYPE_I64, {n_cells, 1, 1, 1}, cells.data(), 0},
        {GGML_TYPE_F32, {1, 1, 1, 1}, &seed, 0},
        {GGML_TYPE_I64, {1, 1, 1, 1}, &dropout_key, 0},
        {GGML_TYPE_F32, {1, 1, 1, 1}, nullptr, 0},
    };
    uploaded_ = upload;
    if (!upload) return false;

    const size_t align = ggml_backend_buft_get_alignment(buft_);
    size_t need = 0;
    for (Field & f : fields_) {
        f.offset = need;
        need += GGML_PAD(ggml_row_size(f.type, f.ne[0] * f.ne[1] * f.ne[2] * f.ne[3]), align);
    }
    const bool moved = !buf_ || ggml_backend_buffer_get_size(buf_.get()) < need;
    if (moved) {
        buf_.reset();
        buf_.reset(ggml_backend_buft_alloc_buffer(buft_, need));
        require(buf_ != nullptr, "not enough device memory for a micro-batch's inputs (" + std::to_string(need >> 20) + " MiB)");
    }
    ggml_context_ptr ctx(ggml_init({ggml_tensor_overhead() * kFields, nullptr, /*no_alloc =*/true}));
    for (const Field & f : fields_) {
        ggml_tensor * t = make(ctx.get(), f);
        if (t && f.host) ggml_backend_tensor_set(t, f.host, 0, ggml_nbytes(t));
    }
    return moved;
}

ggml_tensor * DeviceBatch::make(ggml_context * ctx, const Field & f) const {
    if (f.ne[0] == 0) return nullptr;
    ggml_tensor * t = ggml_new_tensor_4d(ctx, f.type, f.ne[0], f.ne[1], f.ne[2], f.ne[3]);
    if (!uploaded_) {
        ggml_set_input(t);
        return t;
    }
    char * base = (char *) ggml_backend_buffer_get_base(buf_.get());
    require(ggml_backend_tensor_alloc(buf_.get(), t, base + f.offset) == GGML_STATUS_SUCCESS,
            "cannot place a micro-batch input");
    return t;
}

GraphInputs DeviceBatch::inputs(ggml_context * ctx) const {
    require(fields_.size() == kFields, "a micro-batch's inputs were used before they were set");
    GraphInputs in;
    in.tokens = make(ctx, fields_[kTokens]);
    in.positions = make(ctx, fields_[kPositions]);
    in.mask = make(ctx, fields_[kMask]);
    in.out_rows = make(ctx, fields_[kOutRows]);
    in.target_cells = make(ctx, fields_[kTargetCells]);
    in.seed = make(ctx, fields_[kSeed]);
    in.dropout_key = make(ctx, fields_[kDropoutKey]);
    in.loss = uploaded_ ? make(ctx, fields_[kLoss]) : nullptr;
    return in;
}

float DeviceBatch::loss() const {
    require(uploaded_, "no micro-batch was uploaded");
    ggml_context_ptr ctx(ggml_init({ggml_tensor_overhead(), nullptr, /*no_alloc =*/true}));
    float v = 0;
    ggml_backend_tensor_get(make(ctx.get(), fields_[kLoss]), &v, 0, sizeof(float));
    return v;
}

}  // namespace tang
