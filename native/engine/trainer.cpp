#include "trainer.h"

#include <algorithm>
#include <cmath>
#include <thread>
#include <unordered_map>

#include "adapter_file.h"
#include "errors.h"
#include "ggml-cpu.h"
#include "llama_graph.h"
#include "log.h"
#include "random_model.h"

namespace tang {

namespace {

ggml_backend_dev_t pick_device(const std::string & want) {
    ggml_backend_dev_t gpu = nullptr;
    std::string names;
    for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
        ggml_backend_dev_t d = ggml_backend_dev_get(i);
        names += std::string(names.empty() ? "" : ", ") + ggml_backend_dev_name(d);
        if (!gpu && ggml_backend_dev_type(d) == GGML_BACKEND_DEVICE_TYPE_GPU) gpu = d;
    }
    if (want == "cpu") return ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (want == "auto") return gpu ? gpu : ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (want == "cuda" || want == "gpu") {
        require(gpu != nullptr, "device '" + want + "' requested but none is available (devices: " + names +
                                    "); is this a CUDA build of tang-lora?");
        return gpu;
    }
    ggml_backend_dev_t d = ggml_backend_dev_by_name(want.c_str());
    require(d != nullptr, "unknown device '" + want + "' (devices: " + names + ")");
    return d;
}

bool is_cpu(ggml_backend_dev_t d) { return ggml_backend_dev_type(d) == GGML_BACKEND_DEVICE_TYPE_CPU; }

// Nodes that compute something (views and reshapes only relabel memory).
bool computes(const ggml_tensor * t) {
    switch (t->op) {
        case GGML_OP_NONE: case GGML_OP_VIEW: case GGML_OP_RESHAPE: case GGML_OP_PERMUTE: case GGML_OP_TRANSPOSE:
            return false;
        default:
            return true;
    }
}

size_t graph_size_for(const Hparams & hp) { return (size_t) (512 * hp.n_layer + 2048); }

}  // namespace

Trainer::Trainer(const std::string & model_path, const LoraConfig & cfg, const TrainerOptions & opt) {
    log_init();
    dev_ = pick_device(opt.device);
    backend_.reset(ggml_backend_dev_init(dev_, nullptr));
    require(backend_ != nullptr, std::string("cannot initialize device ") + ggml_backend_dev_name(dev_));
    const int threads = opt.n_threads > 0 ? opt.n_threads : (int) std::max(1u, std::thread::hardware_concurrency());
    if (is_cpu(dev_)) {
        ggml_backend_cpu_set_n_threads(backend_.get(), threads);
    } else {
        cpu_.reset(ggml_backend_init_by_type(GGML_BACKEND_DEVICE_TYPE_CPU, nullptr));
        ggml_backend_cpu_set_n_threads(cpu_.get(), threads);
    }
    model_ = std::make_unique<BaseModel>(model_path, is_cpu(dev_) ? nullptr : dev_);
    lora_ = std::make_unique<LoraAdapter>(model_->hp, cfg, ggml_backend_dev_buffer_type(dev_));

    std::vector<ggml_backend_t> backends = {backend_.get()};
    if (cpu_) backends.push_back(cpu_.get());
    sched_.reset(ggml_backend_sched_new(backends.data(), nullptr, (int) backends.size(),
                                        graph_size_for(model_->hp), false, false));
    require(sched_ != nullptr, "cannot create the ggml scheduler");
}

Trainer::~Trainer() = default;

std::string Trainer::device_name() const { return ggml_backend_dev_name(dev_); }

// The scheduler aborts on a node no backend can run: refuse such a graph with a message instead.
void Trainer::check_supported(ggml_cgraph * gf) const {
    for (int i = 0; i < ggml_graph_n_nodes(gf); ++i) {
        ggml_tensor * n = ggml_graph_node(gf, i);
        if (!computes(n)) continue;
        const bool ok = ggml_backend_supports_op(backend_.get(), n) || (cpu_ && ggml_backend_supports_op(cpu_.get(), n));
        require(ok, std::string("this build cannot run ") + ggml_op_desc(n) + " on " +
                        ggml_type_name(n->src[0] ? n->src[0]->type : n->type) + " tensors (" + n->name + ") on " +
                        device_name());
    }
}

MicroBatchResult Trainer::run(const MicroBatch & b, bool backward, float loss_scale, std::vector<float> * logits_out) {
    const Hparams & hp = model_->hp;
    MicroBatchResult r;
    r.n_tokens = b.n_tokens();
    r.n_targets = b.n_targets();
    const int64_t n_out = logits_out ? b.n_tokens() : b.n_targets();
    if (n_out == 0) return r;  // no target in this micro-batch: nothing to learn from it

    const size_t gsize = graph_size_for(hp);
    ggml_init_params ip = {ggml_tensor_overhead() * gsize * 3 + ggml_graph_overhead_custom(gsize, backward), nullptr,
                           /*no_alloc =*/true};
    ggml_context_ptr ctx(ggml_init(ip));
    const bool dropout = backward && lora_->cfg.dropout > 0;
    GraphInputs in;
    GraphOutputs out = build_llama_graph(ctx.get(), *model_, lora_.get(), b, n_out, !logits_out, dropout, in);
    ggml_cgraph * gf = ggml_new_graph_custom(ctx.get(), gsize, backward);
    ggml_build_forward_expand(gf, out.loss ? out.loss : out.logits);

    if (backward) {
        // Gradients of A and B accumulate in the adapter's persistent grad tensors.
        std::unordered_map<const ggml_tensor *, ggml_tensor *> acc;
        for (const LoraPair & lp : lora_->pairs) {
            acc[lp.a] = lp.grad_a;
            acc[lp.b] = lp.grad_b;
        }
        std::vector<ggml_tensor *> grad_accs(ggml_graph_n_nodes(gf), nullptr);
        for (int i = 0; i < ggml_graph_n_nodes(gf); ++i) {
            auto it = acc.find(ggml_graph_node(gf, i));
            if (it != acc.end()) grad_accs[i] = it->second;
        }
        ggml_build_backward_expand(ctx.get(), gf, grad_accs.data());
        ggml_set_input(ggml_graph_get_grad_acc(gf, out.loss));
    }

    check_supported(gf);
    ggml_backend_sched_reset(sched_.get());
    require(ggml_backend_sched_alloc_graph(sched_.get(), gf),
            "not enough memory on " + device_name() + " for a micro-batch of " + std::to_string(b.rows) + " x " +
                std::to_string(b.len) + " tokens");
    if (cpu_) {
        for (int i = 0; i < ggml_graph_n_nodes(gf); ++i) {
            ggml_tensor * n = ggml_graph_node(gf, i);
            if (computes(n) && ggml_backend_sched_get_tensor_backend(sched_.get(), n) == cpu_.get()) r.n_cpu_nodes++;
        }
    }
    r.compute_bytes = ggml_backend_sched_get_buffer_size(sched_.get(), backend_.get());
    peak_compute_ = std::max(peak_compute_, r.compute_bytes);

    ggml_backend_tensor_set(in.tokens, b.tokens.data(), 0, ggml_nbytes(in.tokens));
    ggml_backend_tensor_set(in.positions, b.positions.data(), 0, ggml_nbytes(in.positions));
    ggml_backend_tensor_set(in.mask, b.mask.data(), 0, ggml_nbytes(in.mask));
    std::vector<int32_t> rows;
    if (logits_out) {
        rows.resize((size_t) n_out);
        for (int64_t i = 0; i < n_out; ++i) rows[i] = (int32_t) i;
    } else {
        rows = b.target_rows;
    }
    ggml_backend_tensor_set(in.out_rows, rows.data(), 0, ggml_nbytes(in.out_rows));
    if (in.labels) {
        std::vector<float> onehot((size_t) (hp.n_vocab * n_out), 0.0f);
        for (int64_t i = 0; i < n_out; ++i) onehot[(size_t) (i * hp.n_vocab + b.target_tokens[i])] = 1.0f;
        ggml_backend_tensor_set(in.labels, onehot.data(), 0, ggml_nbytes(in.labels));
    }
    if (dropout) {
        // offsets from a counter-based stream: (seed, micro-batch index, mask index, element)
        std::vector<float> v;
        for (size_t k = 0; k < in.dropout_cols.size(); ++k) {
            const uint64_t base = splitmix64_mix(lora_->cfg.seed ^ 0x5DEECE66DULL) + (uint64_t) micro_ * 0x9E3779B97F4A7C15ULL +
                                  (k + 1) * 0xD1B54A32D192ED03ULL;
            uint64_t j = 0;
            for (ggml_tensor * t : {in.dropout_cols[k], in.dropout_rows[k]}) {
                v.resize((size_t) ggml_nelements(t));
                for (float & x : v) x = counter_bits24(base + j++) * (100.0f / 16777216.0f);
                ggml_backend_tensor_set(t, v.data(), 0, ggml_nbytes(t));
            }
        }
    }
    if (backward) {
        ggml_tensor * seed = ggml_graph_get_grad_acc(gf, out.loss);
        ggml_backend_tensor_set(seed, &loss_scale, 0, sizeof(float));
        micro_++;
    }

    require(ggml_backend_sched_graph_compute(sched_.get(), gf) == GGML_STATUS_SUCCESS,
            "the compute graph failed on " + device_name());
    if (out.loss) {
        float loss = 0;
        ggml_backend_tensor_get(out.loss, &loss, 0, sizeof(float));
        r.loss = loss;
    }
    if (logits_out) {
        logits_out->resize((size_t) ggml_nelements(out.logits));
        ggml_backend_tensor_get(out.logits, logits_out->data(), 0, ggml_nbytes(out.logits));
    }
    return r;
}

MicroBatchResult Trainer::train_micro_batch(const MicroBatch & b, float loss_scale) {
    require(std::isfinite(loss_scale) && loss_scale >= 0, "loss scale must be a finite non-negative number");
    return run(b, /*backward =*/true, loss_scale, nullptr);
}

MicroBatchResult Trainer::eval_loss(const MicroBatch & b) { return run(b, false, 1.0f, nullptr); }

std::vector<float> Trainer::logits(const MicroBatch & b, int64_t & n_vocab) {
    std::vector<float> out;
    run(b, false, 1.0f, &out);
    n_vocab = model_->hp.n_vocab;
    return out;
}

StepResult Trainer::optimizer_step(const AdamWParams & p) {
    require(std::isfinite(p.lr) && p.lr >= 0, "learning rate must be a finite non-negative number");
    require(p.beta1 >= 0 && p.beta1 < 1 && p.beta2 >= 0 && p.beta2 < 1, "AdamW betas must be in [0, 1)");
    require(p.eps > 0 && p.weight_decay >= 0, "AdamW eps must be positive and weight decay non-negative");
    const size_t gsize = 8 * lora_->pairs.size() + 16;
    ggml_init_params ip = {ggml_tensor_overhead() * gsize * 2 + ggml_graph_overhead_custom(gsize, false), nullptr, true};

    // 1. global gradient norm: sqrt(sum over all grads of sum(g^2))
    double norm = 0;
    {
        ggml_context_ptr ctx(ggml_init(ip));
        ggml_tensor * total = nullptr;
        for (const LoraPair & lp : lora_->pairs) {
            for (ggml_tensor * g : {lp.grad_a, lp.grad_b}) {
                ggml_tensor * s = ggml_sum(ctx.get(), ggml_sqr(ctx.get(), g));
                total = total ? ggml_add(ctx.get(), total, s) : s;
            }
        }
        ggml_set_output(total);
        ggml_cgraph * gf = ggml_new_graph_custom(ctx.get(), gsize, false);
        ggml_build_forward_expand(gf, total);
        ggml_backend_sched_reset(sched_.get());
        require(ggml_backend_sched_alloc_graph(sched_.get(), gf), "cannot allocate the gradient-norm graph");
        require(ggml_backend_sched_graph_compute(sched_.get(), gf) == GGML_STATUS_SUCCESS, "gradient norm failed");
        float sq = 0;
        ggml_backend_tensor_get(total, &sq, 0, sizeof(float));
        norm = std::sqrt((double) sq);
    }
    require(std::isfinite(norm), "the gradient norm is not finite (loss diverged?)");

    // 2. clip (as torch.nn.utils.clip_grad_norm_) and AdamW (as torch.optim.AdamW)
    const float coef = p.max_grad_norm > 0 ? (float) std::min(1.0, p.max_grad_norm / (norm + 1e-6)) : 1.0f;
    step_++;
    const float hparams[7] = {p.lr, p.beta1, p.beta2, p.eps, p.weight_decay,
                              (float) (1.0 / (1.0 - std::pow((double) p.beta1, (double) step_))),
                              (float) (1.0 / (1.0 - std::pow((double) p.beta2, (double) step_)))};
    {
        ggml_context_ptr ctx(ggml_init(ip));
        ggml_tensor * params = ggml_new_tensor_1d(ctx.get(), GGML_TYPE_F32, 7);
        ggml_set_input(params);
        ggml_cgraph * gf = ggml_new_graph_custom(ctx.get(), gsize, false);
        for (const LoraPair & lp : lora_->pairs) {
            const std::array<std::array<ggml_tensor *, 4>, 2> sets = {{{lp.a, lp.grad_a, lp.m_a, lp.v_a},
                                                                     {lp.b, lp.grad_b, lp.m_b, lp.v_b}}};
            for (const auto & s : sets) {
                ggml_tensor * g = coef < 1.0f ? ggml_scale(ctx.get(), s[1], coef) : s[1];
                ggml_build_forward_expand(gf, ggml_opt_step_adamw(ctx.get(), s[0], g, s[2], s[3], params));
            }
        }
        ggml_backend_sched_reset(sched_.get());
        require(ggml_backend_sched_alloc_graph(sched_.get(), gf), "cannot allocate the optimizer graph");
        ggml_backend_tensor_set(params, hparams, 0, sizeof(hparams));
        require(ggml_backend_sched_graph_compute(sched_.get(), gf) == GGML_STATUS_SUCCESS, "the optimizer step failed");
    }
    lora_->zero_grads();
    return StepResult{norm, step_};
}

void Trainer::load_adapter(const std::string & path) { read_adapter_gguf(path, model_->hp, *lora_); }

void Trainer::save_adapter(const std::string & path) const { write_adapter_gguf(path, model_->hp, *lora_); }

void Trainer::save_state(const std::string & path) const { write_state_gguf(path, model_->hp, *lora_, step_, micro_); }

void Trainer::load_state(const std::string & path) { read_state_gguf(path, model_->hp, *lora_, step_, micro_); }

}  // namespace tang
