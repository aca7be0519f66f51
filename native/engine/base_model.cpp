#include "base_model.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "errors.h"
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

    ggml_backend_buffer_type_t buft =
        dev ? ggml_backend_dev_buffer_type(dev) : ggml_backend_cpu_buffer_type();
    buf_.reset(ggml_backend_alloc_ctx_tensors_from_buft(ctx_.get(), buft));
    require(buf_ != nullptr, "not enough device memory for the weights of '" + path + "'");
    ggml_backend_buffer_set_usage(buf_.get(), GGML_BACKEND_BUFFER_USAGE_WEIGHTS);

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
        ggml_backend_tensor_set(t, staging.data(), 0, size);
    }
}

size_t BaseModel::weight_bytes() const { return buf_ ? ggml_backend_buffer_get_size(buf_.get()) : 0; }

}  // namespace tang
