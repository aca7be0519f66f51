#include "lora_adapter.h"

#include <algorithm>
#include <cmath>

#include "errors.h"
#include "rng.h"

namespace tang {

bool LoraConfig::targets_module(Module m) const {
    return std::find(targets.begin(), targets.end(), m) != targets.end();
}

LoraAdapter::LoraAdapter(const Hparams & hp, const LoraConfig & config, ggml_backend_buffer_type_t buft) : cfg(config) {
    require(cfg.rank >= 1, "LoRA rank must be at least 1, got " + std::to_string(cfg.rank));
    require(cfg.alpha > 0, "LoRA alpha must be positive");
    require(cfg.dropout >= 0 && cfg.dropout < 1, "LoRA dropout must be in [0, 1)");
    require(!cfg.targets.empty(), "LoRA needs at least one target module");

    const size_t n_tensors = (size_t) hp.n_layer * kModules * 8;
    ggml_init_params p = {ggml_tensor_overhead() * n_tensors, nullptr, /*no_alloc =*/true};
    ctx_.reset(ggml_init(p));
    ggml_context * ctx = ctx_.get();

    auto make = [&](const std::string & name, int64_t ne0, int64_t ne1) {
        ggml_tensor * t = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, ne0, ne1);
        ggml_set_name(t, name.c_str());
        return t;
    };
    for (int64_t il = 0; il < hp.n_layer; ++il) {
        for (Module m : kAllModules) {
            if (!cfg.targets_module(m)) continue;
            const auto shape = module_shape(hp, m);  // (in, out)
            const std::string base = "blk." + std::to_string(il) + "." + module_tensor(m) + ".weight";
            LoraPair lp{};
            lp.layer = il;
            lp.module = m;
            lp.a = make(base + ".lora_a", shape[0], cfg.rank);
            lp.b = make(base + ".lora_b", cfg.rank, shape[1]);
            ggml_set_param(lp.a);
            ggml_set_param(lp.b);
            pairs.push_back(lp);
        }
    }
    // Four banks, each one buffer holding the same sequence of shapes, so equal offsets:
    // parameters, gradient accumulators, AdamW m, AdamW v.
    const char * suffixes[kBanks] = {"", ".grad", ".adam_m", ".adam_v"};
    ggml_tensor * LoraPair::*bank_a[kBanks] = {&LoraPair::a, &LoraPair::grad_a, &LoraPair::m_a, &LoraPair::v_a};
    ggml_tensor * LoraPair::*bank_b[kBanks] = {&LoraPair::b, &LoraPair::grad_b, &LoraPair::m_b, &LoraPair::v_b};
    for (int k = 0; k < kBanks; ++k) {
        for (LoraPair & lp : pairs) {
            if (k == 0) break;  // a and b exist already
            lp.*bank_a[k] = make(std::string(lp.a->name) + suffixes[k], lp.a->ne[0], lp.a->ne[1]);
            lp.*bank_b[k] = make(std::string(lp.b->name) + suffixes[k], lp.b->ne[0], lp.b->ne[1]);
        }
        banks_[k].reset(ggml_backend_alloc_ctx_tensors_from_buft(ctx, buft));
        require(banks_[k] != nullptr, "not enough device memory for the LoRA tensors");
        ggml_backend_buffer_clear(banks_[k].get(), 0);
    }
    // one flat f32 view over each bank (alignment padding included: zero, and it stays zero)
    const size_t bytes = ggml_backend_buffer_get_size(banks_[0].get());
    flat_ctx_.reset(ggml_init({ggml_tensor_overhead() * kBanks, nullptr, /*no_alloc =*/true}));
    for (int k = 0; k < kBanks; ++k) {
        require(ggml_backend_buffer_get_size(banks_[k].get()) == bytes, "LoRA banks differ in size");
        flat_[k] = ggml_new_tensor_1d(flat_ctx_.get(), GGML_TYPE_F32, (int64_t) (bytes / sizeof(float)));
        require(ggml_backend_tensor_alloc(banks_[k].get(), flat_[k], ggml_backend_buffer_get_base(banks_[k].get())) ==
                    GGML_STATUS_SUCCESS, "cannot view the LoRA banks");
    }
    ggml_set_param(flat_[0]);
    init_peft();
}

const LoraPair * LoraAdapter::find(int64_t layer, Module m) const {
    for (const LoraPair & lp : pairs) {
        if (lp.layer == layer && lp.module == m) return &lp;
    }
    return nullptr;
}

ggml_tensor * LoraAdapter::tensor(const std::string & name) const {
    ggml_tensor * t = ggml_get_tensor(ctx_.get(), name.c_str());
    require(t != nullptr, "no LoRA tensor named " + name);
    return t;
}

void LoraAdapter::init_peft() {
    // A ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming-uniform with a = sqrt 5 over fan_in = in), B = 0.
    uint64_t stream = 0;
    for (LoraPair & lp : pairs) {
        const int64_t in = lp.a->ne[0];
        const float bound = 1.0f / std::sqrt((float) in);
        std::vector<float> a((size_t) ggml_nelements(lp.a));
        const uint64_t base = cfg.seed * 0x9E3779B97F4A7C15ULL + (++stream) * 0xD1B54A32D192ED03ULL;
        for (size_t j = 0; j < a.size(); ++j) {
            const float u = counter_bits24(base + j) * (1.0f / 16777216.0f);
            a[j] = (2.0f * u - 1.0f) * bound;
        }
        write(lp.a, a);
        ggml_backend_tensor_memset(lp.b, 0, 0, ggml_nbytes(lp.b));
    }
    zero_moments();
}

void LoraAdapter::zero_grads() { ggml_backend_buffer_clear(banks_[1].get(), 0); }

void LoraAdapter::zero_moments() {
    ggml_backend_buffer_clear(banks_[2].get(), 0);
    ggml_backend_buffer_clear(banks_[3].get(), 0);
}

size_t LoraAdapter::n_params() const {
    size_t n = 0;
    for (const LoraPair & lp : pairs) n += (size_t) (ggml_nelements(lp.a) + ggml_nelements(lp.b));
    return n;
}

std::vector<float> LoraAdapter::read(const ggml_tensor * t) {
    std::vector<float> out((size_t) ggml_nelements(t));
    ggml_backend_tensor_get(t, out.data(), 0, ggml_nbytes(t));
    return out;
}

void LoraAdapter::write(ggml_tensor * t, const std::vector<float> & data) {
    require(data.size() == (size_t) ggml_nelements(t), std::string("wrong element count for ") + t->name);
    ggml_backend_tensor_set(t, data.data(), 0, ggml_nbytes(t));
}

}  // namespace tang
