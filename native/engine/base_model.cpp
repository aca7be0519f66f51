#include "base_model.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "errors.h"
#include "ggml-alloc.h"
#include "gguf.h"
#include "gguf_inspect.h"
#include "gguf_meta.h"
#include "log.h"

namespace tang {

namespace {

int64_t req_int(const gguf_context * g, const std::string & key, const std::string & path) {
    require(gguf_find_key(g, key.c_str()) >= 0, "'" + path + "' lacks the metadata key " + key);
    const std::optional<int64_t> v = meta_int(g, key);
    require(v.has_value(), "'" + path + "': metadata key " + key + " is not an integer");
    return *v;
}

// An optional integer key: `fallback` when absent, an error when present but not an integer.
int64_t opt_int(const gguf_context * g, const std::string & key, const std::string & path, int64_t fallback) {
    return gguf_find_key(g, key.c_str()) >= 0 ? req_int(g, key, path) : fallback;
}

Hparams read_hparams(const gguf_context * g, const std::string & path, int64_t n_vocab) {
    Hparams hp;
    hp.arch = meta_str(g, "general.architecture");
    require(arch_supported(hp.arch), "'" + path + "' has architecture '" + hp.arch +
                                         "'; tang-lora trains llama, mistral and qwen2 models");
    const std::string a = hp.arch;
    hp.n_layer = req_int(g, a + ".block_count", path);
    hp.n_embd = req_int(g, a + ".embedding_length", path);
    hp.n_ff = req_int(g, a + ".feed_forward_length", path);
    hp.n_head = req_int(g, a + ".attention.head_count", path);
    hp.n_head_kv = opt_int(g, a + ".attention.head_count_kv", path, hp.n_head);
    hp.n_ctx_train = req_int(g, a + ".context_length", path);
    require(hp.n_layer > 0 && hp.n_embd > 0 && hp.n_head > 0 && hp.n_head_kv > 0 && hp.n_ff > 0 &&
                hp.n_embd % hp.n_head == 0 && hp.n_head % hp.n_head_kv == 0,
            "'" + path + "' has inconsistent attention dimensions");
    hp.n_rot = opt_int(g, a + ".rope.dimension_count", path, hp.head_dim());
    require(hp.n_rot == hp.head_dim(), "'" + path + "': partial rotary embeddings are not supported");
    hp.n_vocab = n_vocab;
    hp.eps = meta_f32(g, a + ".attention.layer_norm_rms_epsilon", 1e-5f);
    hp.rope_base = meta_f32(g, a + ".rope.freq_base", 10000.0f);
    const std::string scaling = meta_str(g, a + ".rope.scaling.type");
    if (scaling == "linear") {
        const float factor = meta_f32(g, a + ".rope.scaling.factor", 1.0f);
        require(factor > 0, "'" + path + "': bad rope scaling factor");
        hp.rope_scale = 1.0f / factor;
    } else {
        require(scaling.empty() || scaling == "none",
                "'" + path + "': rope scaling '" + scaling + "' is not supported (none, linear, llama3 freq factors)");
    }
    hp.rope_mode = rope_mode_for(a);
    hp.qkv_bias = a == "qwen2";
    return hp;
}

}  // namespace

BaseModel::BaseModel(const std::string & model_path, ggml_backend_dev_t dev) : path(model_path) {
    log_init();
    const GgufSummary summary = inspect_gguf(path);  // existence, magic, truncation
    require(summary.general_type.empty() || summary.general_type == "model",
            "'" + path + "' is a GGUF " + summary.general_type + ", not a base model");

    ggml_context * meta = nullptr;
    gguf_init_params params = {/*no_alloc =*/true, /*ctx =*/&meta};
    gguf_context_ptr g(gguf_init_from_file(path.c_str(), params));
    ctx_.reset(meta);
    require(g != nullptr, "'" + path + "' is not a valid GGUF file");

    auto get = [&](const std::string & name, bool required) -> ggml_tensor * {
        ggml_tensor * t = ggml_get_tensor(ctx_.get(), name.c_str());
        require(t != nullptr || !required, "'" + path + "' lacks the tensor " + name);
        return t;
    };
    auto check = [&](ggml_tensor * t, int64_t ne0, int64_t ne1, bool matrix) {
        require(t->ne[0] == ne0 && t->ne[1] == ne1 && t->ne[2] == 1 && t->ne[3] == 1,
                "'" + path + "': tensor " + t->name + " has shape [" + std::to_string(t->ne[0]) + ", " +
                    std::to_string(t->ne[1]) + "], expected [" + std::to_string(ne0) + ", " + std::to_string(ne1) + "]");
        if (matrix) {
            require(weight_type_supported(t->type), "'" + path + "': tensor " + t->name + " has type " +
                                                        ggml_type_name(t->type) + ", which tang-lora does not train on");
        } else {
            require(t->type == GGML_TYPE_F32, "'" + path + "': tensor " + t->name + " must be f32");
        }
    };

    tok_embd = get("token_embd.weight", true);
    hp = read_hparams(g.get(), path, tok_embd->ne[1]);
    check(tok_embd, hp.n_embd, hp.n_vocab, true);
    output_norm = get("output_norm.weight", true);
    check(output_norm, hp.n_embd, 1, false);
    output = get("output.weight", false);
    if (output) check(output, hp.n_embd, hp.n_vocab, true);
    else output = tok_embd;
    rope_freqs = get("rope_freqs.weight", false);
    if (rope_freqs) check(rope_freqs, hp.n_rot / 2, 1, false);

    layers.resize(hp.n_layer);
    for (int64_t i = 0; i < hp.n_layer; ++i) {
        const std::string b = "blk." + std::to_string(i) + ".";
        LayerWeights & L = layers[i];
        L.attn_norm = get(b + "attn_norm.weight", true);
        check(L.attn_norm, hp.n_embd, 1, false);
        L.ffn_norm = get(b + "ffn_norm.weight", true);
        check(L.ffn_norm, hp.n_embd, 1, false);
        for (Module m : kAllModules) {
            ggml_tensor * w = get(b + module_tensor(m) + ".weight", true);
            const auto shape = module_shape(hp, m);
            check(w, shape[0], shape[1], true);
            L.w[(int) m] = w;
        }
        L.bq = get(b + "attn_q.bias", hp.qkv_bias);
        L.bk = get(b + "attn_k.bias", hp.qkv_bias);
        L.bv = get(b + "attn_v.bias", hp.qkv_bias);
        if (L.bq) check(L.bq, hp.n_embd, 1, false);
        if (L.bk) check(L.bk, hp.n_embd_kv(), 1, false);
        if (L.bv) check(L.bv, hp.n_embd_kv(), 1, false);
    }

    // The product matrices move to their own context; the rest is placed in buf_ one by one.
    buft_ = dev ? ggml_backend_dev_buffer_type(dev) : ggml_backend_cpu_buffer_type();
    const std::vector<ggml_tensor **> slots = products();
    ggml_init_params pp = {ggml_tensor_overhead() * slots.size(), nullptr, /*no_alloc =*/true};
    products_ctx_.reset(ggml_init(pp));
    std::unordered_map<const ggml_tensor *, ggml_tensor *> moved;  // file tensor -> its product copy
    for (ggml_tensor ** slot : slots) {
        ggml_tensor * p = ggml_dup_tensor(products_ctx_.get(), *slot);
        ggml_set_name(p, (*slot)->name);
        moved[*slot] = p;
        *slot = p;
    }
    const size_t align = ggml_backend_buft_get_alignment(buft_);
    size_t rest = 0;
    for (ggml_tensor * t = ggml_get_first_tensor(ctx_.get()); t; t = ggml_get_next_tensor(ctx_.get(), t)) {
        if (!moved.count(t)) rest += GGML_PAD(ggml_backend_buft_get_alloc_size(buft_, t), align);
    }
    buf_.reset(ggml_backend_buft_alloc_buffer(buft_, std::max<size_t>(rest, 1)));
    products_buf_.reset(ggml_backend_alloc_ctx_tensors_from_buft(products_ctx_.get(), buft_));
    require(buf_ != nullptr && products_buf_ != nullptr, "not enough device memory for the weights of '" + path + "'");
    ggml_backend_buffer_set_usage(buf_.get(), GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
    ggml_backend_buffer_set_usage(products_buf_.get(), GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
    ggml_tallocr place = ggml_tallocr_new(buf_.get());
    for (ggml_tensor * t = ggml_get_first_tensor(ctx_.get()); t; t = ggml_get_next_tensor(ctx_.get(), t)) {
        if (!moved.count(t)) require(ggml_tallocr_alloc(&place, t) == GGML_STATUS_SUCCESS, "cannot place the tensor " + std::string(t->name));
    }

    // Read every tensor's bytes from the file into its place on the device.
    std::unique_ptr<FILE, int (*)(FILE *)> f(std::fopen(path.c_str(), "rb"), std::fclose);
    require(f != nullptr, "cannot open '" + path + "': " + std::strerror(errno));
    const size_t data_offset = gguf_get_data_offset(g.get());
    std::vector<uint8_t> staging;
    for (int64_t i = 0; i < gguf_get_n_tensors(g.get()); ++i) {
        ggml_tensor * t = ggml_get_tensor(ctx_.get(), gguf_get_tensor_name(g.get(), i));
        const size_t size = ggml_nbytes(t);
        staging.resize(size);
        require(fseeko(f.get(), (off_t) (data_offset + gguf_get_tensor_offset(g.get(), i)), SEEK_SET) == 0 &&
                    std::fread(staging.data(), 1, size, f.get()) == size,
                "cannot read tensor " + std::string(t->name) + " of '" + path + "'");
        const auto it = moved.find(t);
        ggml_backend_tensor_set(it == moved.end() ? t : it->second, staging.data(), 0, size);
    }
}

std::vector<ggml_tensor **> BaseModel::products() {
    std::vector<ggml_tensor **> out;
    for (LayerWeights & L : layers) {
        for (ggml_tensor *& w : L.w) out.push_back(&w);
    }
    if (output != tok_embd) out.push_back(&output);
    return out;
}

size_t BaseModel::bf16_extra_bytes() const {
    size_t extra = 0;
    for (ggml_tensor * t = ggml_get_first_tensor(products_ctx_.get()); t; t = ggml_get_next_tensor(products_ctx_.get(), t)) {
        if (ggml_is_quantized(t->type)) extra += (size_t) ggml_nelements(t) * sizeof(ggml_bf16_t) - ggml_nbytes(t);
    }
    return extra;
}

size_t BaseModel::quantized_product_bytes() const {
    size_t n = 0;
    for (ggml_tensor * t = ggml_get_first_tensor(products_ctx_.get()); t; t = ggml_get_next_tensor(products_ctx_.get(), t)) {
        if (ggml_is_quantized(t->type)) n += ggml_nbytes(t);
    }
    return n;
}

int64_t BaseModel::largest_product() const {
    int64_t n = 0;
    for (ggml_tensor * t = ggml_get_first_tensor(products_ctx_.get()); t; t = ggml_get_next_tensor(products_ctx_.get(), t)) {
        n = std::max(n, ggml_nelements(t));
    }
    return std::max(n, ggml_nelements(output));
}

void BaseModel::expand_to_bf16(ggml_backend_t backend) {
    if (bf16_extra_bytes() == 0) return;
    const std::vector<ggml_tensor **> slots = products();
    ggml_init_params pp = {ggml_tensor_overhead() * slots.size(), nullptr, /*no_alloc =*/true};
    ggml_context_ptr ctx(ggml_init(pp));
    std::vector<ggml_tensor *> copies;
    for (ggml_tensor ** slot : slots) {
        ggml_tensor * from = *slot;
        ggml_tensor * to = ggml_is_quantized(from->type) ? ggml_new_tensor(ctx.get(), GGML_TYPE_BF16, GGML_MAX_DIMS, from->ne)
                                                         : ggml_dup_tensor(ctx.get(), from);
        ggml_set_name(to, from->name);
        copies.push_back(to);
    }
    ggml_backend_buffer_ptr buf(ggml_backend_alloc_ctx_tensors_from_buft(ctx.get(), buft_));
    require(buf != nullptr, "not enough device memory for bf16 copies of the weights of '" + path + "'");
    ggml_backend_buffer_set_usage(buf.get(), GGML_BACKEND_BUFFER_USAGE_WEIGHTS);

    // On the device, a chunk of rows at a time (so the f32 intermediate stays within kChunk elements):
    // get_rows dequantizes them to f32, a copy rounds them to bf16 into the copy's rows.
    constexpr int64_t kChunk = (int64_t) 1 << 24;
    int64_t max_rows = 1;
    for (ggml_tensor ** slot : slots) max_rows = std::max(max_rows, std::min(ggml_nrows(*slot), std::max<int64_t>(1, kChunk / (*slot)->ne[0])));
    ggml_init_params ip = {ggml_tensor_overhead(), nullptr, /*no_alloc =*/true};
    ggml_context_ptr ids_ctx(ggml_init(ip));
    ggml_tensor * ids = ggml_new_tensor_1d(ids_ctx.get(), GGML_TYPE_I32, max_rows);  // 0, 1, .., max_rows - 1
    ggml_backend_buffer_ptr ids_buf(ggml_backend_alloc_ctx_tensors_from_buft(ids_ctx.get(), buft_));
    require(ids_buf != nullptr, "not enough device memory to expand the weights of '" + path + "'");
    std::vector<int32_t> iota((size_t) max_rows);
    for (int64_t i = 0; i < max_rows; ++i) iota[(size_t) i] = (int32_t) i;
    ggml_backend_tensor_set(ids, iota.data(), 0, ggml_nbytes(ids));
    ggml_gallocr_ptr galloc(ggml_gallocr_new(buft_));
    for (size_t k = 0; k < slots.size(); ++k) {
        ggml_tensor * from = *slots[k], * to = copies[k];
        if (to->type == from->type) {
            ggml_backend_tensor_copy(from, to);
            continue;
        }
        const int64_t n_rows = ggml_nrows(from), n_cols = from->ne[0];
        const int64_t step = std::min(n_rows, std::max<int64_t>(1, kChunk / n_cols));
        for (int64_t r0 = 0; r0 < n_rows; r0 += step) {
            const int64_t n = std::min(step, n_rows - r0);
            ggml_init_params gp = {ggml_tensor_overhead() * 8 + ggml_graph_overhead_custom(8, false), nullptr, true};
            ggml_context_ptr g(ggml_init(gp));
            ggml_tensor * rows = ggml_get_rows(g.get(), ggml_view_2d(g.get(), from, n_cols, n, from->nb[1], r0 * from->nb[1]),
                                               ggml_view_1d(g.get(), ids, n, 0));  // (n_cols, n) f32
            ggml_cgraph * gf = ggml_new_graph_custom(g.get(), 8, false);
            ggml_build_forward_expand(gf, ggml_cpy(g.get(), rows, ggml_view_2d(g.get(), to, n_cols, n, to->nb[1], r0 * to->nb[1])));
            require(ggml_backend_supports_op(backend, rows), std::string("this build cannot expand ") + ggml_type_name(from->type) +
                                                                 " weights on " + ggml_backend_name(backend));
            require(ggml_gallocr_alloc_graph(galloc.get(), gf), "not enough device memory to expand the weights of '" + path + "'");
            require(ggml_backend_graph_compute(backend, gf) == GGML_STATUS_SUCCESS, "expanding the weights of '" + path + "' failed");
        }
    }
    for (size_t k = 0; k < slots.size(); ++k) *slots[k] = copies[k];
    products_buf_ = std::move(buf);
    products_ctx_ = std::move(ctx);
}

size_t BaseModel::weight_bytes() const {
    return (buf_ ? ggml_backend_buffer_get_size(buf_.get()) : 0) + (products_buf_ ? ggml_backend_buffer_get_size(products_buf_.get()) : 0);
}

}  // namespace tang
