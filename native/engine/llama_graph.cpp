#include "llama_graph.h"

#include <cmath>

namespace tang {

namespace {

Module out_module(int64_t b) { return b % 2 == 0 ? Module::o : Module::down; }

}  // namespace

GraphBuilder::GraphBuilder(ggml_context * ctx, const BaseModel & model, const LoraAdapter * lora,
                           const MicroBatch & batch, bool dropout, const GraphInputs & in)
    : ctx_(ctx), model_(model), lora_(lora), batch_(batch), dropout_(dropout && lora && lora->cfg.dropout > 0), in_(in) {}

bool GraphBuilder::block_has_lora(int64_t b) const {
    if (!lora_) return false;
    const int64_t il = b / 2;
    if (b % 2 == 0) return lora_->find(il, Module::q) || lora_->find(il, Module::k) || lora_->find(il, Module::v) || lora_->find(il, Module::o);
    return lora_->find(il, Module::gate) || lora_->find(il, Module::up) || lora_->find(il, Module::down);
}

// B (A (scale * dropout(x)))   x: (in, T) -> (out, T); nullptr when (il, m) has no LoRA.
// The scale rides on the dropout's keep factor: one full-size op for both. A's gradient makes the dropout
// again from x (patch 0019), so no graph keeps the dropped copy for the backward pass.
ggml_tensor * GraphBuilder::lora_delta(int64_t il, Module m, ggml_tensor * x) {
    const LoraPair * lp = lora_ ? lora_->find(il, m) : nullptr;
    if (!lp) return nullptr;
    const float p = lora_->cfg.dropout, scale = lora_->cfg.scale();
    const uint64_t module_key = (uint64_t) (il * kModules + (int) m + 1) * 0xD1B54A32D192ED03ULL;
    x = dropout_ ? ggml_dropout(ctx_, x, p, scale / (1.0f - p), module_key, in_.dropout_key) : ggml_scale(ctx_, x, scale);
    return ggml_mul_mat(ctx_, lp->b, ggml_mul_mat(ctx_, lp->a, x));  // (r, T) -> (out, T)
}

// W of (il, m) as its products take it: while expand_on_ is set, a quantized W becomes a bf16 tensor of the
// graph (its last use frees it), which the forward product and the input gradient's out-product both read.
ggml_tensor * GraphBuilder::frozen(int64_t il, Module m) {
    ggml_tensor * w = model_.layers[il].w[(int) m];
    if (!expand_on_ || !ggml_is_quantized(w->type)) return w;
    ggml_tensor * w16 = ggml_cast(ctx_, w, GGML_TYPE_BF16);
    return ggml_backend_supports_op(expand_on_, w16) ? w16 : w;
}

// W x (+ LoRA)   x: (in, T) -> (out, T). The frozen product asks for f32 accumulation. The delta is
// the sum's first operand, so the graph computes it before W x and ggml-cuda runs W x and the sum as one
// GEMM accumulating onto the delta (patch 0008).
ggml_tensor * GraphBuilder::proj(int64_t il, Module m, ggml_tensor * x) {
    ggml_tensor * d = lora_delta(il, m, x);
    ggml_tensor * y = ggml_mul_mat(ctx_, frozen(il, m), x);
    ggml_mul_mat_set_prec(y, GGML_PREC_F32);
    return d ? ggml_add(ctx_, d, y) : y;
}

ggml_tensor * GraphBuilder::norm(ggml_tensor * x, ggml_tensor * w) {
    return ggml_mul(ctx_, ggml_rms_norm(ctx_, x, model_.hp.eps), w);
}

// (a, b, n_kv, B) contiguous -> (a, b, n_head, B), each kv head repeated n_head / n_kv times in a row
ggml_tensor * GraphBuilder::repeat_heads(ggml_tensor * x) {
    const int64_t n_rep = model_.hp.n_head / model_.hp.n_head_kv;
    ggml_tensor * flat = ggml_reshape_4d(ctx_, x, x->ne[0] * x->ne[1], 1, x->ne[2], x->ne[3]);
    ggml_tensor * rep = ggml_repeat_4d(ctx_, flat, flat->ne[0], n_rep, x->ne[2], x->ne[3]);
    return ggml_reshape_4d(ctx_, rep, x->ne[0], x->ne[1], model_.hp.n_head, x->ne[3]);
}

ggml_tensor * GraphBuilder::rope(ggml_tensor * x) {  // x: (head_dim, heads, T)
    const Hparams & hp = model_.hp;
    return ggml_rope_ext(ctx_, x, in_.positions, model_.rope_freqs, (int) hp.n_rot, hp.rope_mode, (int) hp.n_ctx_train,
                         hp.rope_base, hp.rope_scale, /*ext_factor =*/0.0f, /*attn_factor =*/1.0f,
                         /*beta_fast =*/32.0f, /*beta_slow =*/1.0f);
}

// Masked soft-max attention of layer il over h (n_embd, T) -> (n_embd, T), before the o projection.
ggml_tensor * GraphBuilder::attention(int64_t il, ggml_tensor * h) {
    const Hparams & hp = model_.hp;
    const LayerWeights & lw = model_.layers[il];
    const int64_t L = batch_.len, B = batch_.rows, T = batch_.n_tokens(), hd = hp.head_dim();

    ggml_tensor * q = proj(il, Module::q, h);  // (n_embd, T)
    ggml_tensor * k = proj(il, Module::k, h);  // (n_embd_kv, T)
    ggml_tensor * v = proj(il, Module::v, h);  // (n_embd_kv, T)
    if (lw.bq) q = ggml_add(ctx_, q, lw.bq);
    if (lw.bk) k = ggml_add(ctx_, k, lw.bk);
    if (lw.bv) v = ggml_add(ctx_, v, lw.bv);

    q = rope(ggml_reshape_3d(ctx_, q, hd, hp.n_head, T));     // (hd, n_head, T)
    k = rope(ggml_reshape_3d(ctx_, k, hd, hp.n_head_kv, T));  // (hd, n_kv, T)

    ggml_tensor * q4 = ggml_permute(ctx_, ggml_reshape_4d(ctx_, q, hd, hp.n_head, L, B), 0, 2, 1, 3);     // (hd, L, n_head, B)
    ggml_tensor * k4 = ggml_permute(ctx_, ggml_reshape_4d(ctx_, k, hd, hp.n_head_kv, L, B), 0, 2, 1, 3);  // (hd, L, n_kv, B)
    // v per row transposed, (n_embd_kv, L, B) -> (L, n_embd_kv, B): a plain 2-D transpose per row,
    // which backends copy in tiles, then split into heads
    const int64_t n_embd_kv = hd * hp.n_head_kv;
    ggml_tensor * vt = ggml_cont(ctx_, ggml_transpose(ctx_, ggml_reshape_3d(ctx_, v, n_embd_kv, L, B)));
    ggml_tensor * v4 = ggml_reshape_4d(ctx_, vt, L, hd, hp.n_head_kv, B);  // (L, hd, n_kv, B)
    if (hp.n_head_kv != hp.n_head) {
        // GQA: ggml's matmul backward cannot reduce a broadcast over heads when rows > 1, so
        // repeat each kv head for its n_head / n_kv query heads (head h uses kv head h / n_rep).
        k4 = repeat_heads(ggml_cont(ctx_, k4));  // (hd, L, n_head, B)
        v4 = repeat_heads(v4);                   // (L, hd, n_head, B)
    }

    ggml_tensor * kq = ggml_mul_mat(ctx_, k4, q4);  // (L_k, L_q, n_head, B)
    ggml_mul_mat_set_prec(kq, GGML_PREC_F32);
    kq = ggml_soft_max_ext(ctx_, kq, in_.mask, 1.0f / std::sqrt((float) hd), 0.0f);
    ggml_tensor * kqv = ggml_mul_mat(ctx_, v4, kq);                           // (hd, L_q, n_head, B)
    ggml_tensor * o = ggml_cont(ctx_, ggml_permute(ctx_, kqv, 0, 2, 1, 3));  // (hd, n_head, L, B)
    return ggml_reshape_2d(ctx_, o, hp.n_embd, T);
}

ggml_tensor * GraphBuilder::embed() {
    return ggml_get_rows(ctx_, model_.tok_embd, in_.tokens);  // (n_embd, T)
}

ggml_tensor * GraphBuilder::block_inner(int64_t b, ggml_tensor * x) {
    const int64_t il = b / 2;
    const LayerWeights & lw = model_.layers[il];
    if (b % 2 == 0) return attention(il, norm(x, lw.attn_norm));
    ggml_tensor * h = norm(x, lw.ffn_norm);
    return ggml_swiglu_split(ctx_, proj(il, Module::gate, h), proj(il, Module::up, h));  // (n_ff, T)
}

ggml_tensor * GraphBuilder::block(int64_t b, ggml_tensor * x) {
    return ggml_add(ctx_, x, proj(b / 2, out_module(b), block_inner(b, x)));
}

BlockBackward GraphBuilder::block_backward(int64_t b, ggml_tensor * x, ggml_tensor * g, ggml_backend_t expand_on) {
    const int64_t il = b / 2;
    const Module m = out_module(b);
    BlockBackward r;
    expand_on_ = expand_on;
    r.a = block_inner(b, x);
    expand_on_ = nullptr;
    r.wt_g = ggml_out_prod(ctx_, model_.layers[il].w[(int) m], ggml_transpose(ctx_, g));
    r.d = lora_delta(il, m, r.a);
    return r;
}

ggml_tensor * GraphBuilder::logits(ggml_tensor * x) {
    x = ggml_get_rows(ctx_, norm(x, model_.output_norm), in_.out_rows);  // (n_embd, n_out)
    ggml_tensor * y = ggml_mul_mat(ctx_, model_.output, x);               // (n_vocab, n_out)
    ggml_mul_mat_set_prec(y, GGML_PREC_F32);
    return y;
}

// One-hot labels made on the device (zeros, then a 1 written at each target cell), so the
// (n_vocab, n_out) matrix never crosses the bus.
ggml_tensor * GraphBuilder::loss(ggml_tensor * logits) {
    const int64_t V = logits->ne[0], n = logits->ne[1];
    ggml_tensor * zeros = ggml_fill_inplace(ctx_, ggml_new_tensor_2d(ctx_, GGML_TYPE_F32, 1, V * n), 0.0f);
    ggml_tensor * ones = ggml_fill_inplace(ctx_, ggml_new_tensor_2d(ctx_, GGML_TYPE_F32, 1, n), 1.0f);
    ggml_tensor * onehot = ggml_reshape_2d(ctx_, ggml_set_rows(ctx_, zeros, ones, in_.target_cells), V, n);
    return ggml_cross_entropy_loss(ctx_, logits, onehot);
}

GraphOutputs build_llama_forward(ggml_context * ctx, const BaseModel & model, const LoraAdapter * lora,
                                 const MicroBatch & batch, bool with_loss, const GraphInputs & in) {
    GraphBuilder gb(ctx, model, lora, batch, /*dropout =*/false, in);
    ggml_tensor * x = gb.embed();
    for (int64_t b = 0; b < gb.n_blocks(); ++b) x = gb.block(b, x);
    GraphOutputs out;
    out.logits = gb.logits(x);
    ggml_set_output(out.logits);
    if (with_loss) {
        out.loss = gb.loss(out.logits);
        ggml_set_output(out.loss);
    }
    return out;
}

}  // namespace tang
