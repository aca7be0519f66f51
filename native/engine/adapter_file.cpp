#include "adapter_file.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "atomic_file.h"
#include "errors.h"
#include "ggml-cpp.h"
#include "gguf.h"
#include "gguf_inspect.h"
#include "gguf_meta.h"
#include "log.h"

namespace tang {

namespace {

// Copies device tensors into a host context and writes one GGUF atomically.
void write_gguf(const std::string & path, gguf_context * g, const std::vector<const ggml_tensor *> & tensors) {
    size_t bytes = 0;
    for (const ggml_tensor * t : tensors) bytes += ggml_nbytes(t) + 64;
    ggml_init_params ip = {bytes + ggml_tensor_overhead() * (tensors.size() + 1), nullptr, /*no_alloc =*/false};
    ggml_context_ptr host(ggml_init(ip));
    for (const ggml_tensor * t : tensors) {
        ggml_tensor * h = ggml_dup_tensor(host.get(), t);
        ggml_set_name(h, t->name);
        ggml_backend_tensor_get(t, h->data, 0, ggml_nbytes(t));
        gguf_add_tensor(g, h);
    }
    AtomicFile out(path);
    require(gguf_write_to_file_ptr(g, out.get(), /*only_meta =*/false), "cannot write '" + path + "'");
    out.commit();
}

// Our own counters are written as int64 and must be read back as such.
int64_t get_i64(const gguf_context * g, const char * key, const std::string & path) {
    const int64_t id = gguf_find_key(g, key);
    require(id >= 0 && gguf_get_kv_type(g, id) == GGUF_TYPE_INT64, "'" + path + "' lacks " + key);
    return gguf_get_val_i64(g, id);
}

// The named host tensor of f after checking it exists with dst's shape and type and holds
// only finite values.
const ggml_tensor * checked_tensor(const LoadedGguf & f, const std::string & path, const ggml_tensor * dst,
                                   const std::string & name) {
    const ggml_tensor * src = ggml_get_tensor(f.ctx.get(), name.c_str());
    require(src != nullptr, "'" + path + "' lacks the tensor " + name);
    require(src->type == GGML_TYPE_F32, "'" + path + "': tensor " + name + " must be f32");
    if (!ggml_are_same_shape(src, dst)) {
        throw Error("'" + path + "': tensor " + name + " has shape [" + std::to_string(src->ne[0]) + ", " +
                    std::to_string(src->ne[1]) + "], this model and rank need [" + std::to_string(dst->ne[0]) + ", " +
                    std::to_string(dst->ne[1]) + "] (adapter for another base model?)");
    }
    const float * v = (const float *) src->data;
    bool finite = true;
    for (int64_t i = 0; i < ggml_nelements(src); ++i) finite = finite && std::isfinite(v[i]);
    require(finite, "'" + path + "': tensor " + name + " holds a non-finite value");
    return src;
}

// Copies the named host tensor, checked, into dst.
void load_into(const LoadedGguf & f, const std::string & path, ggml_tensor * dst, const std::string & name) {
    ggml_backend_tensor_set(dst, checked_tensor(f, path, dst, name)->data, 0, ggml_nbytes(dst));
}

void check_tensor_count(const LoadedGguf & f, const std::string & path, size_t expected) {
    require((size_t) gguf_get_n_tensors(f.gguf.get()) == expected,
            "'" + path + "' has " + std::to_string(gguf_get_n_tensors(f.gguf.get())) + " tensors, expected " +
                std::to_string(expected) + " for these target modules and layers");
}

void set_common(gguf_context * g, const Hparams & hp, const LoraAdapter & lora) {
    gguf_set_val_str(g, "general.architecture", hp.arch.c_str());
    gguf_set_val_f32(g, "adapter.lora.alpha", lora.cfg.alpha);
}

}  // namespace

void write_adapter_gguf(const std::string & path, const Hparams & hp, const LoraAdapter & lora) {
    gguf_context_ptr g(gguf_init_empty());
    gguf_set_val_str(g.get(), "general.type", "adapter");
    gguf_set_val_str(g.get(), "adapter.type", "lora");
    gguf_set_val_str(g.get(), "general.name", "tang-lora adapter");
    set_common(g.get(), hp, lora);
    std::vector<const ggml_tensor *> ts;
    for (const LoraPair & lp : lora.pairs) {
        ts.push_back(lp.a);
        ts.push_back(lp.b);
    }
    write_gguf(path, g.get(), ts);
}

namespace {

// An adapter file's header checked against the trainer's base and LoRA config.
LoadedGguf open_adapter(const std::string & path, const Hparams & hp, const LoraAdapter & lora) {
    log_init();
    LoadedGguf f = read_gguf(path, "adapter file");
    const gguf_context * g = f.gguf.get();
    require(meta_str(g, "general.type") == "adapter" && meta_str(g, "adapter.type") == "lora",
            "'" + path + "' is not a LoRA adapter GGUF");
    const std::string arch = meta_str(g, "general.architecture");
    require(arch == hp.arch, "'" + path + "' is an adapter for architecture '" + arch + "', the base model is '" +
                                 hp.arch + "'");
    const float alpha = meta_f32(g, "adapter.lora.alpha", NAN);
    require(alpha == lora.cfg.alpha, "'" + path + "' has LoRA alpha " + std::to_string(alpha) +
                                         ", the trainer is configured with " + std::to_string(lora.cfg.alpha));
    check_tensor_count(f, path, 2 * lora.pairs.size());
    return f;
}

}  // namespace

void read_adapter_gguf(const std::string & path, const Hparams & hp, LoraAdapter & lora) {
    LoadedGguf f = open_adapter(path, hp, lora);
    for (LoraPair & lp : lora.pairs) {
        load_into(f, path, lp.a, lp.a->name);
        load_into(f, path, lp.b, lp.b->name);
    }
}

void check_adapter_gguf(const std::string & path, const Hparams & hp, const LoraAdapter & lora) {
    LoadedGguf f = open_adapter(path, hp, lora);
    for (const LoraPair & lp : lora.pairs) {
        for (const ggml_tensor * t : {lp.a, lp.b}) {
            const std::vector<float> now = LoraAdapter::read(t);
            require(std::memcmp(checked_tensor(f, path, t, t->name)->data, now.data(), ggml_nbytes(t)) == 0,
                    "'" + path + "' is not the adapter of this state: tensor " + t->name + " differs");
        }
    }
}

void write_state_gguf(const std::string & path, const Hparams & hp, const LoraAdapter & lora, int64_t step,
                      int64_t micro) {
    gguf_context_ptr g(gguf_init_empty());
    gguf_set_val_str(g.get(), "general.type", "tang-lora-state");
    set_common(g.get(), hp, lora);
    gguf_set_val_i64(g.get(), "tang_lora.step", step);
    gguf_set_val_i64(g.get(), "tang_lora.micro_batches", micro);
    gguf_set_val_i64(g.get(), "tang_lora.rank", lora.cfg.rank);
    gguf_set_val_f32(g.get(), "tang_lora.dropout", lora.cfg.dropout);
    gguf_set_val_u64(g.get(), "tang_lora.seed", lora.cfg.seed);
    gguf_set_val_i64(g.get(), "tang_lora.n_layer", hp.n_layer);
    gguf_set_val_i64(g.get(), "tang_lora.n_embd", hp.n_embd);
    std::vector<const ggml_tensor *> ts;
    for (const LoraPair & lp : lora.pairs) {
        for (const ggml_tensor * t : {lp.a, lp.b, lp.m_a, lp.v_a, lp.m_b, lp.v_b}) ts.push_back(t);
    }
    write_gguf(path, g.get(), ts);
}

void read_state_gguf(const std::string & path, const Hparams & hp, LoraAdapter & lora, int64_t & step,
                     int64_t & micro) {
    log_init();
    LoadedGguf f = read_gguf(path, "optimizer state file");
    const gguf_context * g = f.gguf.get();
    require(meta_str(g, "general.type") == "tang-lora-state", "'" + path + "' is not a tang-lora optimizer state file");
    require(meta_str(g, "general.architecture") == hp.arch &&
                get_i64(g, "tang_lora.n_layer", path) == hp.n_layer && get_i64(g, "tang_lora.n_embd", path) == hp.n_embd,
            "'" + path + "' was saved for another base model");
    require(get_i64(g, "tang_lora.rank", path) == lora.cfg.rank && meta_f32(g, "adapter.lora.alpha", NAN) == lora.cfg.alpha,
            "'" + path + "' was saved with another LoRA rank or alpha");
    check_tensor_count(f, path, 6 * lora.pairs.size());
    for (LoraPair & lp : lora.pairs) {
        for (ggml_tensor * t : {lp.a, lp.b, lp.m_a, lp.v_a, lp.m_b, lp.v_b}) load_into(f, path, t, t->name);
    }
    step = get_i64(g, "tang_lora.step", path);
    micro = get_i64(g, "tang_lora.micro_batches", path);
    require(step >= 0 && micro >= 0, "'" + path + "' holds negative counters");
    lora.zero_grads();
}

}  // namespace tang
