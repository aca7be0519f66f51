#include "llama_graph.h"

#include <cmath>

namespace tang {

namespace {

struct Builder {
    ggml_context * ctx;
    const BaseModel & model;
    const LoraAdapter * lora;
    GraphInputs & in;
    bool with_dropout;
    size_t next_dropout = 0;

    // W x (+ scale * B (A dropout(x)))   x: (in, T) -> (out, T)
    ggml_tensor * proj(int64_t il, Module m, ggml_tensor * x) {
        ggml_tensor * y = ggml_mul_mat(ctx, model.layers[il].w[(int) m], x);
        const LoraPair * lp = lora ? lora->find(il, m) : nullptr;
        if (!lp) return y;
        ggml_tensor * xa = x;
        if (with_dropout) xa = ggml_mul(ctx, x, keep_mask(x));
        ggml_tensor * ab = ggml_mul_mat(ctx, lp->b, ggml_mul_mat(ctx, lp->a, xa));  // (r, T) -> (out, T)
        ab = ggml_scale(ctx, ab, lora->cfg.scale());
        return ggml_add(ctx, y, ab);
    }

    // Dropout keep-mask for x (in, T), made on the device: u = fract(43758.5453 sin(c_i + r_t))
    // with random offsets c (in) and r (T) from the host; keep = (u >= p) / (1 - p).
    ggml_tensor * keep_mask(ggml_tensor * x) {
        const float p = lora->cfg.dropout;
        ggml_tensor * cols = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, x->ne[0], 1);
        ggml_tensor * rows = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 1, x->ne[1]);
        ggml_set_input(cols);
        ggml_set_input(rows);
        in.dropout_cols.push_back(cols);
        in.dropout_rows.push_back(rows);
        ggml_tensor * h = ggml_scale(ctx, ggml_sin(ctx, ggml_add(ctx, ggml_repeat(ctx, rows, x), cols)), 43758.5453f);
        ggml_tensor * u = ggml_sub(ctx, h, ggml_floor(ctx, h));                 // in [0, 1)
        return ggml_scale(ctx, ggml_step(ctx, ggml_scale_bias(ctx, u, 1.0f, -p)), 1.0f / (1.0f - p));
    }

    ggml_tensor * norm(ggml_tensor * x, ggml_tensor * w) {
        return ggml_mul(ctx, ggml_rms_norm(ctx, x, model.hp.eps), w);
    }

    // (a, b, n_kv, B) contiguous -> (a, b, n_head, B), each kv head repeated n_head / n_kv times in a row
    ggml_tensor * repeat_heads(ggml_tensor * x) {
        const int64_t n_rep = model.hp.n_head / model.hp.n_head_kv;
        ggml_tensor * flat = ggml_reshape_4d(ctx, x, x->ne[0] * x->ne[1], 1, x->ne[2], x->ne[3]);
        ggml_tensor * rep = ggml_repeat_4d(ctx, flat, flat->ne[0], n_rep, x->ne[2], x->ne[3]);
        return ggml_reshape_4d(ctx, rep, x->ne[0], x->ne[1], model.hp.n_head, x->ne[3]);
    }

    ggml_tensor * rope(ggml_tensor * x) {  // x: (head_dim, heads, T)
        const Hparams & hp = model.hp;
        return ggml_rope_ext(ctx, x, in.positions, model.rope_freqs, (int) hp.n_rot, hp.rope_mode,
                             (int) hp.n_ctx_train, hp.rope_base, hp.rope_scale, /*ext_factor =*/0.0f,
                             /*attn_factor =*/1.0f, /*beta_fast =*/32.0f, /*beta_slow =*/1.0f);
    }
};

}  // namespace

GraphOutputs build_llama_graph(ggml_context * ctx, const BaseModel & model, const LoraAdapter * lora,
                               const MicroBatch & batch, int64_t n_out, bool with_loss, bool with_dropout,
                               GraphInputs & in) {
    const Hparams & hp = model.hp;
    const int64_t L = batch.len, B = batch.rows, T = batch.n_tokens();
    const int64_t hd = hp.head_dim();
    Builder b{ctx, model, lora, in, with_dropout && lora != nullptr};

    in.tokens = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, T);
    in.positions = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, T);
    in.mask = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, L, L, 1, B);
    in.out_rows = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, n_out);
    for (ggml_tensor * t : {in.tokens, in.positions, in.mask, in.out_rows}) ggml_set_input(t);

    ggml_tensor * x = ggml_get_rows(ctx, model.tok_embd, in.tokens);  // (n_embd, T)
    const float kq_scale = 1.0f / std::sqrt((float) hd);

    for (int64_t il = 0; il < hp.n_layer; ++il) {
        const LayerWeights & lw = model.layers[il];
        ggml_tensor * h = b.norm(x, lw.attn_norm);                       // (n_embd, T)

        ggml_tensor * q = b.proj(il, Module::q, h);                      // (n_embd, T)
        ggml_tensor * k = b.proj(il, Module::k, h);                      // (n_embd_kv, T)
        ggml_tensor * v = b.proj(il, Module::v, h);                      // (n_embd_kv, T)
        if (lw.bq) q = ggml_add(ctx, q, lw.bq);
        if (lw.bk) k = ggml_add(ctx, k, lw.bk);
        if (lw.bv) v = ggml_add(ctx, v, lw.bv);

        q = b.rope(ggml_reshape_3d(ctx, q, hd, hp.n_head, T));            // (hd, n_head, T)
        k = b.rope(ggml_reshape_3d(ctx, k, hd, hp.n_head_kv, T));         // (hd, n_kv, T)

        ggml_tensor * q4 = ggml_permute(ctx, ggml_reshape_4d(ctx, q, hd, hp.n_head, L, B), 0, 2, 1, 3);     // (hd, L, n_head, B)
        ggml_tensor * k4 = ggml_permute(ctx, ggml_reshape_4d(ctx, k, hd, hp.n_head_kv, L, B), 0, 2, 1, 3);  // (hd, L, n_kv, B)
        ggml_tensor * v4 = ggml_cont(ctx, ggml_permute(ctx, ggml_reshape_4d(ctx, v, hd, hp.n_head_kv, L, B), 1, 2, 0, 3));  // (L, hd, n_kv, B)
        if (hp.n_head_kv != hp.n_head) {
            // GQA: ggml's matmul backward cannot reduce a broadcast over heads when rows > 1, so
            // repeat each kv head for its n_head / n_kv query heads (head h uses kv head h / n_rep).
            k4 = b.repeat_heads(ggml_cont(ctx, k4));  // (hd, L, n_head, B)
            v4 = b.repeat_heads(v4);                  // (L, hd, n_head, B)
        }

        ggml_tensor * kq = ggml_mul_mat(ctx, k4, q4);                    // (L_k, L_q, n_head, B)
        ggml_mul_mat_set_prec(kq, GGML_PREC_F32);
        kq = ggml_soft_max_ext(ctx, kq, in.mask, kq_scale, 0.0f);
        ggml_tensor * kqv = ggml_mul_mat(ctx, v4, kq);                   // (hd, L_q, n_head, B)
        ggml_tensor * o = ggml_cont(ctx, ggml_permute(ctx, kqv, 0, 2, 1, 3));  // (hd, n_head, L, B)
        o = ggml_reshape_2d(ctx, o, hp.n_embd, T);
        x = ggml_add(ctx, x, b.proj(il, Module::o, o));                 // (n_embd, T)

        h = b.norm(x, lw.ffn_norm);
        ggml_tensor * g = b.proj(il, Module::gate, h);                   // (n_ff, T)
        ggml_tensor * u = b.proj(il, Module::up, h);                     // (n_ff, T)
        x = ggml_add(ctx, x, b.proj(il, Module::down, ggml_swiglu_split(ctx, g, u)));
    }

    x = b.norm(x, model.output_norm);                                    // (n_embd, T)
    x = ggml_get_rows(ctx, x, in.out_rows);                              // (n_embd, n_out)
    GraphOutputs out;
    out.logits = ggml_mul_mat(ctx, model.output, x);                     // (n_vocab, n_out)
    ggml_set_output(out.logits);
    if (with_loss) {
        in.labels = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, hp.n_vocab, n_out);
        ggml_set_input(in.labels);
        out.loss = ggml_cross_entropy_loss(ctx, out.logits, in.labels);
        ggml_set_output(out.loss);
        ggml_set_loss(out.loss);
    }
    return out;
}

}  // namespace tang
