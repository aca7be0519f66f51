#include "random_model.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <thread>
#include <vector>

#include "atomic_file.h"
#include "errors.h"
#include "ggml-cpp.h"
#include "gguf.h"
#include "llama_layout.h"
#include "log.h"

namespace tang {

namespace {

enum class Init { norm, bias, embed, matrix, output };

struct TensorPlan {
    std::string name;
    std::array<int64_t, 2> ne;  // ne[1] == 1 for vectors
    Init init;
    ggml_type type;
};

std::vector<TensorPlan> plan_tensors(const RandomModelSpec & s, int64_t n_vocab) {
    const int64_t n_embd_kv = s.n_embd / s.n_head * s.n_head_kv;
    std::vector<TensorPlan> p;
    p.push_back({"token_embd.weight", {s.n_embd, n_vocab}, Init::embed, s.type});
    for (int64_t i = 0; i < s.n_layer; ++i) {
        const std::string b = "blk." + std::to_string(i) + ".";
        p.push_back({b + "attn_norm.weight", {s.n_embd, 1}, Init::norm, GGML_TYPE_F32});
        p.push_back({b + "attn_q.weight", {s.n_embd, s.n_embd}, Init::matrix, s.type});
        p.push_back({b + "attn_k.weight", {s.n_embd, n_embd_kv}, Init::matrix, s.type});
        p.push_back({b + "attn_v.weight", {s.n_embd, n_embd_kv}, Init::matrix, s.type});
        p.push_back({b + "attn_output.weight", {s.n_embd, s.n_embd}, Init::matrix, s.type});
        p.push_back({b + "ffn_norm.weight", {s.n_embd, 1}, Init::norm, GGML_TYPE_F32});
        p.push_back({b + "ffn_gate.weight", {s.n_embd, s.n_ff}, Init::matrix, s.type});
        p.push_back({b + "ffn_up.weight", {s.n_embd, s.n_ff}, Init::matrix, s.type});
        p.push_back({b + "ffn_down.weight", {s.n_ff, s.n_embd}, Init::matrix, s.type});
        if (s.arch == "qwen2") {
            p.push_back({b + "attn_q.bias", {s.n_embd, 1}, Init::bias, GGML_TYPE_F32});
            p.push_back({b + "attn_k.bias", {n_embd_kv, 1}, Init::bias, GGML_TYPE_F32});
            p.push_back({b + "attn_v.bias", {n_embd_kv, 1}, Init::bias, GGML_TYPE_F32});
        }
    }
    p.push_back({"output_norm.weight", {s.n_embd, 1}, Init::norm, GGML_TYPE_F32});
    p.push_back({"output.weight", {s.n_embd, n_vocab}, Init::output, s.type});
    return p;
}

// Fills `out` with the values of tensor t, elements [j0, j0 + out.size()).
void generate(const RandomModelSpec & s, uint64_t t, const TensorPlan & plan, uint64_t j0, std::vector<float> & out) {
    const uint64_t seed = s.seed;
    const uint64_t base = seed * 0x9E3779B97F4A7C15ULL + (t + 1) * 0xD1B54A32D192ED03ULL;
    const float scale = 1.0f / std::sqrt((float) plan.ne[0]);
    for (size_t k = 0; k < out.size(); ++k) {
        const float u = counter_bits24(base + j0 + k) * (1.0f / 16777216.0f);
        const float c = 2.0f * u - 1.0f;
        switch (plan.init) {
            case Init::norm:   out[k] = 1.0f + 0.1f * c; break;
            case Init::bias:   out[k] = 0.1f * c; break;
            case Init::embed:  out[k] = c; break;
            case Init::matrix: out[k] = c * scale; break;
            case Init::output: out[k] = c * (s.output_scale * scale); break;
        }
    }
}


void validate(const RandomModelSpec & s) {
    require(arch_supported(s.arch), "unsupported architecture '" + s.arch + "' (llama, mistral, qwen2)");
    require(s.n_layer > 0 && s.n_embd > 0 && s.n_ff > 0 && s.n_head > 0 && s.n_head_kv > 0,
            "model dimensions must be positive");
    require(std::isfinite(s.output_scale) && s.output_scale > 0, "the output scale must be a positive number");
    require(s.n_embd % s.n_head == 0, "n_embd must be a multiple of n_head");
    require(s.n_head % s.n_head_kv == 0, "n_head must be a multiple of n_head_kv");
    require((s.n_embd / s.n_head) % 2 == 0, "the head dimension must be even for RoPE");
    require(weight_type_supported(s.type), std::string("unsupported weight type ") + ggml_type_name(s.type));
    const int64_t blck = ggml_blck_size(s.type);
    require(s.n_embd % blck == 0 && s.n_ff % blck == 0,
            std::string("type ") + ggml_type_name(s.type) + " needs n_embd and n_ff to be multiples of " +
                std::to_string(blck));
}

}  // namespace

RandomModelResult write_random_model(const RandomModelSpec & spec, const std::string & out_path) {
    log_init();
    validate(spec);

    clear_log_error();
    gguf_init_params vp = {/*no_alloc =*/true, /*ctx =*/nullptr};
    gguf_context_ptr vocab(gguf_init_from_file(spec.vocab_path.c_str(), vp));
    require(vocab != nullptr, "cannot read the vocabulary GGUF '" + spec.vocab_path + "'");
    const int64_t tok = gguf_find_key(vocab.get(), "tokenizer.ggml.tokens");
    require(tok >= 0, "'" + spec.vocab_path + "' has no tokenizer.ggml.tokens");
    const int64_t n_vocab = (int64_t) gguf_get_arr_n(vocab.get(), tok);

    gguf_context_ptr g(gguf_init_empty());
    gguf_set_kv(g.get(), vocab.get());
    for (int64_t i = gguf_get_n_kv(g.get()) - 1; i >= 0; --i) {
        const std::string key = gguf_get_key(g.get(), i);
        if (key.rfind("tokenizer.", 0) != 0) gguf_remove_key(g.get(), key.c_str());
    }
    const std::string a = spec.arch;
    gguf_set_val_str(g.get(), "general.architecture", a.c_str());
    gguf_set_val_str(g.get(), "general.type", "model");
    gguf_set_val_str(g.get(), "general.name", "tang-lora random model");
    if (!spec.chat_template.empty()) gguf_set_val_str(g.get(), "tokenizer.chat_template", spec.chat_template.c_str());
    gguf_set_val_u32(g.get(), (a + ".context_length").c_str(), (uint32_t) spec.n_ctx);
    gguf_set_val_u32(g.get(), (a + ".embedding_length").c_str(), (uint32_t) spec.n_embd);
    gguf_set_val_u32(g.get(), (a + ".block_count").c_str(), (uint32_t) spec.n_layer);
    gguf_set_val_u32(g.get(), (a + ".feed_forward_length").c_str(), (uint32_t) spec.n_ff);
    gguf_set_val_u32(g.get(), (a + ".attention.head_count").c_str(), (uint32_t) spec.n_head);
    gguf_set_val_u32(g.get(), (a + ".attention.head_count_kv").c_str(), (uint32_t) spec.n_head_kv);
    gguf_set_val_u32(g.get(), (a + ".rope.dimension_count").c_str(), (uint32_t) (spec.n_embd / spec.n_head));
    gguf_set_val_f32(g.get(), (a + ".rope.freq_base").c_str(), spec.rope_base);
    gguf_set_val_f32(g.get(), (a + ".attention.layer_norm_rms_epsilon").c_str(), spec.eps);
    gguf_set_val_u32(g.get(), (a + ".vocab_size").c_str(), (uint32_t) n_vocab);

    const std::vector<TensorPlan> plan = plan_tensors(spec, n_vocab);
    ggml_init_params mp = {ggml_tensor_overhead() * (plan.size() + 1), nullptr, /*no_alloc =*/true};
    ggml_context_ptr meta(ggml_init(mp));
    for (const TensorPlan & p : plan) {
        ggml_tensor * t = p.ne[1] == 1 ? ggml_new_tensor_1d(meta.get(), p.type, p.ne[0])
                                       : ggml_new_tensor_2d(meta.get(), p.type, p.ne[0], p.ne[1]);
        ggml_set_name(t, p.name.c_str());
        gguf_add_tensor(g.get(), t);
    }

    AtomicFile out(out_path);
    std::vector<uint8_t> header(gguf_get_meta_size(g.get()));
    gguf_get_meta_data(g.get(), header.data());
    out.write(header.data(), header.size());

    RandomModelResult r;
    r.n_vocab = n_vocab;
    const uint64_t data_offset = header.size();  // the meta block ends padded to the alignment
    std::vector<float> rows;
    std::vector<uint8_t> packed;
    const int n_threads = (int) std::max(1u, std::thread::hardware_concurrency());
    for (size_t t = 0; t < plan.size(); ++t) {
        const TensorPlan & p = plan[t];
        out.pad_to(data_offset + gguf_get_tensor_offset(g.get(), (int64_t) t));
        const size_t row_bytes = ggml_row_size(p.type, p.ne[0]);
        // a slab of rows at a time keeps memory flat for 7B-sized tensors; threads split its rows
        const int64_t rows_per_slab = std::max<int64_t>(1, (1 << 24) / p.ne[0]);
        for (int64_t r0 = 0; r0 < p.ne[1]; r0 += rows_per_slab) {
            const int64_t nr = std::min(rows_per_slab, p.ne[1] - r0);
            rows.resize((size_t) (nr * p.ne[0]));
            packed.resize(row_bytes * nr);
            const int64_t per = (nr + n_threads - 1) / n_threads;
            std::vector<std::thread> workers;
            for (int64_t a = 0; a < nr; a += per) {
                const int64_t n = std::min(per, nr - a);
                workers.emplace_back([&, a, n] {
                    std::vector<float> part(rows.begin() + a * p.ne[0], rows.begin() + (a + n) * p.ne[0]);
                    generate(spec, t, p, (uint64_t) ((r0 + a) * p.ne[0]), part);
                    if (p.type == GGML_TYPE_F32) {
                        std::copy(part.begin(), part.end(), (float *) packed.data() + a * p.ne[0]);
                    } else {
                        ggml_quantize_chunk(p.type, part.data(), packed.data() + a * row_bytes, 0, n, p.ne[0], nullptr);
                    }
                });
            }
            for (std::thread & w : workers) w.join();
            out.write(packed.data(), packed.size());
        }
        r.n_params += (uint64_t) (p.ne[0] * p.ne[1]);
    }
    const long end = std::ftell(out.get());
    r.file_size = end < 0 ? 0 : (uint64_t) end;
    out.commit();
    return r;
}

}  // namespace tang
