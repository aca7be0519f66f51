#include "trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "adapter_file.h"
#include "device.h"
#include "errors.h"
#include "graph_node.h"
#include "ggml-cpu.h"
#include "log.h"
#include "rng.h"

namespace tang {

namespace {

size_t graph_size_for(const Hparams & hp) { return (size_t) (512 * hp.n_layer + 2048); }
constexpr size_t kBlockGraphSize = 4096;  // nodes of one block's forward + backward

using Clock = std::chrono::steady_clock;

// Waits for the scheduler's queued graphs when it goes out of scope, so that an error between two
// launches never leaves work queued that a later host copy or free could race.
struct WaitOnExit {
    ggml_backend_sched_t sched;
    ~WaitOnExit() { ggml_backend_sched_synchronize(sched); }
};
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

MicroBatchResult counts(const MicroBatch & b) {
    MicroBatchResult r;
    r.n_tokens = b.n_tokens();
    r.n_targets = b.n_targets();
    return r;
}

}  // namespace

Trainer::Trainer(const std::string & model_path, const LoraConfig & cfg, const TrainerOptions & opt) {
    require(opt.keep_blocks >= 0, "keepBlocks must be a whole number >= 0");
    log_init();
    dev_ = pick_device(opt.device);
    backend_.reset(ggml_backend_dev_init(dev_, nullptr));
    require(backend_ != nullptr, std::string("cannot initialize device ") + ggml_backend_dev_name(dev_));
    const int n_threads = opt.n_threads > 0 ? opt.n_threads : (int) std::max(1u, std::thread::hardware_concurrency());
    shared_buffers_ = is_cpu(dev_);
    if (is_cpu(dev_)) {
        ggml_backend_cpu_set_n_threads(backend_.get(), n_threads);
    } else {
        cpu_.reset(ggml_backend_init_by_type(GGML_BACKEND_DEVICE_TYPE_CPU, nullptr));
        ggml_backend_cpu_set_n_threads(cpu_.get(), n_threads);
    }
    model_ = std::make_unique<BaseModel>(model_path, is_cpu(dev_) ? nullptr : dev_);
    lora_ = std::make_unique<LoraAdapter>(model_->hp, cfg, ggml_backend_dev_buffer_type(dev_));
    for (const LoraPair & lp : lora_->pairs) {
        grad_acc_[lp.a] = lp.grad_a;
        grad_acc_[lp.b] = lp.grad_b;
    }
    batch_ = std::make_unique<DeviceBatch>(ggml_backend_dev_buffer_type(dev_));
    if (OpProfile::requested()) profile_ = std::make_unique<OpProfile>(backend_.get());
    set_kept_blocks(opt.checkpointing ? opt.keep_blocks : 2 * model_->hp.n_layer);
}

void Trainer::new_sched(Stage s) {
    std::vector<ggml_backend_t> backends = {backend_.get()};
    if (cpu_) backends.push_back(cpu_.get());
    // the kept part's graph (or, when shared, any graph) is larger than a block's
    const size_t gsize = s == kAttention || s == kFeedForward ? kBlockGraphSize : graph_size_for(model_->hp);
    ggml_backend_sched_ptr fresh(ggml_backend_sched_new(backends.data(), nullptr, (int) backends.size(), gsize, false, false));
    require(fresh != nullptr, "cannot create the ggml scheduler");
    if (profile_) profile_->attach(fresh.get());
    scheds_[s] = std::move(fresh);
}

size_t Trainer::compute_bytes() const {
    size_t n = 0;
    for (const ggml_backend_sched_ptr & s : scheds_) n += s ? ggml_backend_sched_get_buffer_size(s.get(), backend_.get()) : 0;
    return n;
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

namespace {

ggml_context_ptr graph_context(size_t gsize, bool grads) {
    ggml_init_params ip = {ggml_tensor_overhead() * gsize * 3 + ggml_graph_overhead_custom(gsize, grads), nullptr,
                           /*no_alloc =*/true};
    return ggml_context_ptr(ggml_init(ip));
}

}  // namespace

void Trainer::expand_backward(ggml_context * ctx, ggml_cgraph * gf,
                              const std::vector<std::pair<ggml_tensor *, ggml_tensor *>> & roots) const {
    std::unordered_map<const ggml_tensor *, ggml_tensor *> given;
    for (const auto & [t, grad] : roots) {
        t->flags |= GGML_TENSOR_FLAG_LOSS;  // as ggml_set_loss, which only takes scalars; the gradient is given
        ggml_build_forward_expand(gf, t);
        given[t] = grad;
    }
    std::vector<ggml_tensor *> grad_accs(ggml_graph_n_nodes(gf), nullptr);
    for (int i = 0; i < ggml_graph_n_nodes(gf); ++i) {
        const ggml_tensor * n = ggml_graph_node(gf, i);
        if (auto it = grad_acc_.find(n); it != grad_acc_.end()) grad_accs[i] = it->second;
        if (auto it = given.find(n); it != given.end()) grad_accs[i] = it->second;
    }
    ggml_build_backward_expand(ctx, gf, grad_accs.data());
}

// A scheduler whose graph has the shape of its last one allocates it without waiting; otherwise it
// waits for the device (every scheduler's queued graphs) and re-reserves. fill_inputs may write to
// gf's tensors only with nothing queued (the optimizer's graphs: each runs alone).
double Trainer::launch_graph(Stage s, ggml_cgraph * gf, const std::string & no_memory, const std::function<void()> & fill_inputs,
                             uint64_t persistent_id) {
    uint64_t & held = held_[buffer_of(s)];
    if (persistent_id == 0 || held != persistent_id) {
        held = 0;
        check_supported(gf);
        ggml_backend_sched_reset(sched(s));
        require(ggml_backend_sched_alloc_graph(sched(s), gf), no_memory);
        held = persistent_id;
    }
    fill_inputs();
    const Clock::time_point t0 = Clock::now();
    require(ggml_backend_sched_graph_compute_async(sched(s), gf) == GGML_STATUS_SUCCESS,
            "the compute graph failed on " + device_name());
    return ms_since(t0);
}

double Trainer::finish() {
    const Clock::time_point t0 = Clock::now();
    ggml_backend_sched_synchronize(sched(kKept));  // every scheduler's backends: the device and the CPU
    return ms_since(t0);
}

void Trainer::finish(MicroBatchResult & r) {
    r.host_ms -= finish();
    r.compute_bytes = compute_bytes();
    peak_compute_ = std::max(peak_compute_, r.compute_bytes);
}

void Trainer::launch(Stage s, ggml_cgraph * gf, const MicroBatch & b, MicroBatchResult & r, uint64_t persistent_id) {
    const std::string no_memory = "not enough memory on " + device_name() + " for a micro-batch of " +
                                  std::to_string(b.rows) + " x " + std::to_string(b.len) + " tokens";
    r.host_ms -= launch_graph(s, gf, no_memory, [&] {  // the caller adds its whole wall time
        if (cpu_) {
            for (int i = 0; i < ggml_graph_n_nodes(gf); ++i) {
                ggml_tensor * n = ggml_graph_node(gf, i);
                if (computes(n) && ggml_backend_sched_get_tensor_backend(sched(s), n) == cpu_.get()) r.n_cpu_nodes++;
            }
        }
    }, persistent_id);
    r.n_graphs++;
}

void Trainer::launch_persistent(Stage s, const MicroBatch & b, MicroBatchResult & r, const BuildGraph & build) {
    PersistentGraph & pg = persistent_[s];
    const PersistentGraph::Shape shape{b.rows, b.len, b.n_targets(), first_kept_};
    ggml_cgraph * gf = pg.reuse(shape, held_[buffer_of(s)]);
    if (gf) {
        r.n_reused++;
    } else {
        ggml_context_ptr ctx = graph_context(graph_size_for(model_->hp), /*grads =*/s == kKept);
        const GraphInputs in = batch_->inputs(ctx.get());
        GraphBuilder gb(ctx.get(), *model_, lora_.get(), b, /*dropout =*/true, in);
        ggml_cgraph * built = build(ctx.get(), gb, in);
        gf = pg.keep(std::move(ctx), built, shape);
    }
    launch(s, gf, b, r, pg.id());
}

void Trainer::forget_graphs() {
    for (int s = 0; s < kStages; ++s) {
        held_[s] = 0;
        persistent_[s].forget();
    }
}

MicroBatchResult Trainer::forward(const MicroBatch & b, std::vector<float> * logits_out) {
    const Clock::time_point t0 = Clock::now();
    MicroBatchResult r = counts(b);
    const int64_t n_out = logits_out ? b.n_tokens() : b.n_targets();
    if (n_out == 0) return r;
    const WaitOnExit drain{sched(kKept)};
    if (batch_->set(b, model_->hp.n_vocab, /*all_rows =*/logits_out != nullptr, /*targets =*/!logits_out, 0.0f, 0, true)) {
        forget_graphs();  // the persistent graphs' inputs were on the old buffer
    }
    const size_t gsize = graph_size_for(model_->hp);
    ggml_context_ptr ctx = graph_context(gsize, false);
    const GraphInputs in = batch_->inputs(ctx.get());
    GraphOutputs out = build_llama_forward(ctx.get(), *model_, lora_.get(), b, !logits_out, in);
    ggml_cgraph * gf = ggml_new_graph_custom(ctx.get(), gsize, false);
    ggml_build_forward_expand(gf, out.loss ? out.loss : out.logits);
    launch(kKept, gf, b, r);
    finish(r);
    if (out.loss) {
        float loss = 0;
        ggml_backend_tensor_get(out.loss, &loss, 0, sizeof(float));
        r.loss = loss;
    }
    if (logits_out) {
        logits_out->resize((size_t) ggml_nelements(out.logits));
        ggml_backend_tensor_get(out.logits, logits_out->data(), 0, ggml_nbytes(out.logits));
    }
    r.host_ms += ms_since(t0);
    return r;
}

// With checkpointing, per residual block: one forward graph stores the input of every block
// before first_kept; one graph runs blocks first_kept.. and the head (final norm, logits, loss)
// forward and backward with their activations kept (none but the head by default); then each
// earlier block, last to first, is recomputed from its stored input in a graph that also runs
// its backward pass and hands dL/d(input) to the next. Peak memory: the stored inputs plus the
// kept part's graph and the recomputing graphs' buffers (on the CPU, the larger of them: Stage).
// Without checkpointing, first_kept is 0: one graph, the whole model forward and backward. The inputs are
// uploaded once and the loss is copied out of the kept graph's buffer, and each kind of graph has its own
// scheduler (Stage), so the host builds and allocates each next graph while the device computes the last
// ones, and waits at the end (and where a scheduler re-reserves: block 0's graph, the first kept graph
// after eval). The store and kept graphs of a micro-batch shape seen before are launched as they are
// (PersistentGraph): the device starts on a micro-batch as soon as its inputs are up.
MicroBatchResult Trainer::train_micro_batch(const MicroBatch & b, float loss_scale) {
    require(std::isfinite(loss_scale) && loss_scale >= 0, "loss scale must be a finite non-negative number");
    const Clock::time_point t0 = Clock::now();
    MicroBatchResult r = counts(b);
    if (r.n_targets == 0) return r;  // no target in this micro-batch: nothing to learn from it
    const Hparams & hp = model_->hp;
    const int64_t first_kept = first_kept_;
    const WaitOnExit drain{sched(kKept)};
    // dropout masks from a counter-based stream keyed by (seed, micro-batch, layer, module, element)
    const uint64_t dropout_key = splitmix64_mix(lora_->cfg.seed ^ 0x5DEECE66DULL) + (uint64_t) micro_ * 0x9E3779B97F4A7C15ULL;
    // graphs bound to a buffer that moved are built again
    bool moved = first_kept > 0 && store_->reserve(hp.n_embd, b.n_tokens(), first_kept + 1);
    moved |= batch_->set(b, hp.n_vocab, /*all_rows =*/false, /*targets =*/true, loss_scale, dropout_key, true);
    if (moved) forget_graphs();

    if (first_kept > 0) {  // forward, keeping the inputs of blocks 0 .. first_kept
        launch_persistent(kStore, b, r, [&](ggml_context * ctx, GraphBuilder & gb, const GraphInputs &) {
            return store_graph(ctx, gb, first_kept, [&](int64_t k) { return store_->slot(ctx, k); });
        });
    }
    // blocks first_kept.. and the head forward and backward; dL/d(input of block first_kept) into gradient slot 0
    launch_persistent(kKept, b, r, [&](ggml_context * ctx, GraphBuilder & gb, const GraphInputs & in) {
        const bool from_store = first_kept > 0;
        return kept_graph(ctx, gb, in, first_kept, from_store ? store_->slot(ctx, first_kept) : nullptr,
                          from_store ? store_->grad(ctx, 0) : nullptr);
    });
    for (int64_t k = first_kept - 1, g = 0; k >= 0; --k, g ^= 1) {  // recomputed blocks, last to first
        ggml_context_ptr ctx = graph_context(kBlockGraphSize, true);
        const GraphInputs in = batch_->inputs(ctx.get());
        GraphBuilder gb(ctx.get(), *model_, lora_.get(), b, /*dropout =*/true, in);
        if (k == 0 && !gb.block_has_lora(k)) break;  // nothing left to learn
        launch(block_stage(k), block_graph(ctx.get(), gb, k, store_->slot(ctx.get(), k), store_->grad(ctx.get(), g),
                                           k > 0 ? store_->grad(ctx.get(), g ^ 1) : nullptr), b, r);
    }
    finish(r);
    r.loss = batch_->loss();
    micro_++;
    r.host_ms += ms_since(t0);
    return r;
}

ggml_cgraph * Trainer::store_graph(ggml_context * ctx, GraphBuilder & gb, int64_t first_kept,
                                   const std::function<ggml_tensor *(int64_t)> & slot) const {
    ggml_cgraph * gf = ggml_new_graph_custom(ctx, graph_size_for(model_->hp), false);
    ggml_tensor * x = gb.embed();
    for (int64_t k = 0; k < first_kept; ++k) {
        ggml_build_forward_expand(gf, ggml_cpy(ctx, x, slot(k)));
        x = gb.block(k, x);
    }
    ggml_build_forward_expand(gf, ggml_cpy(ctx, x, slot(first_kept)));
    return gf;
}

ggml_cgraph * Trainer::kept_graph(ggml_context * ctx, GraphBuilder & gb, const GraphInputs & in, int64_t first_kept,
                                  ggml_tensor * x0, ggml_tensor * dx0) const {
    if (x0) ggml_set_param(x0);
    ggml_tensor * x = x0 ? x0 : gb.embed();
    for (int64_t k = first_kept; k < gb.n_blocks(); ++k) x = gb.block(k, x);
    ggml_tensor * loss = gb.loss(gb.logits(x));
    ggml_cgraph * gf = ggml_new_graph_custom(ctx, graph_size_for(model_->hp), true);
    expand_backward(ctx, gf, {{loss, in.seed}});
    if (in.loss) ggml_build_forward_expand(gf, ggml_cpy(ctx, loss, in.loss));  // read once the device is done
    if (x0 && dx0) ggml_build_forward_expand(gf, ggml_cpy(ctx, ggml_graph_get_grad(gf, x0), dx0));
    return gf;
}

ggml_cgraph * Trainer::block_graph(ggml_context * ctx, GraphBuilder & gb, int64_t k, ggml_tensor * x, ggml_tensor * g,
                                   ggml_tensor * dx) const {
    if (k > 0) ggml_set_param(x);  // the embeddings (block 0's input) are frozen
    ggml_cgraph * gf = ggml_new_graph_custom(ctx, kBlockGraphSize, true);
    const BlockBackward bb = gb.block_backward(k, x, g, is_cpu(dev_) ? nullptr : backend_.get());
    ggml_build_forward_expand(gf, bb.wt_g);  // computed before the backward pass adds the LoRA term onto it
    std::vector<std::pair<ggml_tensor *, ggml_tensor *>> roots = {{bb.a, bb.wt_g}};
    if (bb.d) roots.emplace_back(bb.d, g);
    expand_backward(ctx, gf, roots);
    if (k > 0 && dx) {  // dL/dx = g (residual) + the block's own term
        ggml_build_forward_expand(gf, ggml_cpy(ctx, ggml_add(ctx, ggml_graph_get_grad(gf, x), g), dx));
    }
    return gf;
}

// Sizes the graphs of a step of rows x len tokens, one sample per row and every next token a
// target (the largest such step), with the scheduler's measure (nothing allocated): the head
// graph keeping no block, then the last layer too; the forward pass storing the first layer's
// block inputs, and the last layer's two blocks recomputed. Block inputs and gradients that the
// store holds in training are graph inputs here, so each figure is a little above what training takes.
MemoryNeeds Trainer::measure_memory(int64_t rows, int64_t len) {
    require(rows >= 1 && len >= 2 && rows * len <= (int64_t) 1 << 24, "a memory plan needs rows >= 1 and a row length >= 2");
    const Hparams & hp = model_->hp;
    const int64_t n_tokens = rows * len;
    MicroBatch b = make_micro_batch(rows, std::vector<int32_t>(n_tokens, 1), std::vector<int32_t>(n_tokens, 1),
                                    std::vector<int32_t>(n_tokens, 0), hp.n_vocab);
    MemoryNeeds m;
    m.n_blocks = 2 * hp.n_layer;
    ggml_backend_dev_memory(dev_, &m.free_bytes, &m.total_bytes);
    m.held_bytes = model_->weight_bytes() + lora_->n_params() * 4 * sizeof(float);
    m.slot_bytes = (size_t) (hp.n_embd * n_tokens) * sizeof(float);
    m.bf16_extra_bytes = is_cpu(dev_) ? 0 : model_->bf16_extra_bytes();
    m.bf16_source_bytes = is_cpu(dev_) ? 0 : model_->quantized_product_bytes();
    m.step_bytes = lora_->n_params() * sizeof(float);
    // + the last activation converted for a frozen product, which ggml-cuda keeps for the next (patch 0018)
    m.scratch_bytes = is_cpu(dev_) ? 0 : (size_t) (model_->largest_product() + n_tokens * (hp.n_vocab + std::max(hp.n_embd, hp.n_ff))) *
                                                   sizeof(ggml_bf16_t);
    DeviceBatch sizing(ggml_backend_dev_buffer_type(dev_));
    sizing.set(b, hp.n_vocab, /*all_rows =*/false, /*targets =*/true, 1.0f, 0, /*upload =*/false);
    auto measure = [&](size_t gsize, const BuildGraph & build) {
        ggml_context_ptr ctx = graph_context(gsize, true);
        const GraphInputs in = sizing.inputs(ctx.get());
        GraphBuilder gb(ctx.get(), *model_, lora_.get(), b, /*dropout =*/true, in);
        ggml_cgraph * gf = build(ctx.get(), gb, in);
        check_supported(gf);
        std::vector<size_t> sizes(ggml_backend_sched_get_n_backends(sched(kKept)));
        ggml_backend_sched_reserve_size(sched(kKept), gf, sizes.data());
        return sizes[0];  // the training device's (backend 0)
    };
    auto activation = [&](ggml_context * ctx) {
        ggml_tensor * t = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, hp.n_embd, n_tokens);
        ggml_set_input(t);
        return t;
    };
    auto head = [&](int64_t kept) {
        const int64_t first = m.n_blocks - kept;
        return measure(graph_size_for(hp), [&](ggml_context * ctx, GraphBuilder & gb, const GraphInputs & in) {
            return kept_graph(ctx, gb, in, first, first > 0 ? activation(ctx) : nullptr, nullptr);
        });
    };
    m.head_bytes = head(0);
    m.layer_bytes = std::max(head(2), m.head_bytes) - m.head_bytes;
    m.shared_buffers = shared_buffers_;
    auto recomputing = [&](size_t bytes) { m.block_bytes = shared_buffers_ ? std::max(m.block_bytes, bytes) : m.block_bytes + bytes; };
    recomputing(measure(graph_size_for(hp), [&](ggml_context * ctx, GraphBuilder & gb, const GraphInputs &) {
        return store_graph(ctx, gb, std::min<int64_t>(2, m.n_blocks), [&](int64_t) { return activation(ctx); });
    }));
    for (int64_t k = m.n_blocks - 2; k < m.n_blocks; ++k) {  // an attention block and a feed-forward one
        recomputing(measure(kBlockGraphSize, [&](ggml_context * ctx, GraphBuilder & gb, const GraphInputs &) {
            return block_graph(ctx, gb, k, activation(ctx), activation(ctx), activation(ctx));
        }));
    }
    forget_graphs();  // sizing reset kKept's scheduler
    ggml_backend_sched_reset(sched(kKept));
    return m;
}

void Trainer::use_bf16_weights() {
    require(!is_cpu(dev_), "bf16 weight copies are for GPUs (the CPU multiplies quantized weights directly)");
    forget_graphs();  // they read the quantized weights
    model_->expand_to_bf16(backend_.get());
    bf16_weights_ = true;
}

void Trainer::set_kept_blocks(int64_t keep) {
    require(keep >= 0, "keepBlocks must be a whole number >= 0");
    const int64_t n_blocks = 2 * model_->hp.n_layer;
    // from empty buffers: what the last plan held (for more kept blocks, or eval) is freed
    auto store = std::make_unique<ActivationStore>(ggml_backend_dev_buffer_type(dev_));
    forget_graphs();
    for (int s = 0; s < (shared_buffers_ ? 1 : (int) kStages); ++s) new_sched((Stage) s);
    store_ = std::move(store);
    first_kept_ = n_blocks - std::min(keep, n_blocks);
}

MicroBatchResult Trainer::eval_loss(const MicroBatch & b) { return forward(b, nullptr); }

std::vector<float> Trainer::logits(const MicroBatch & b, int64_t & n_vocab) {
    std::vector<float> out;
    forward(b, &out);
    n_vocab = model_->hp.n_vocab;
    return out;
}

StepResult Trainer::optimizer_step(const AdamWParams & p) {
    require(std::isfinite(p.lr) && p.lr >= 0, "learning rate must be a finite non-negative number");
    require(p.beta1 >= 0 && p.beta1 < 1 && p.beta2 >= 0 && p.beta2 < 1, "AdamW betas must be in [0, 1)");
    require(p.eps > 0 && p.weight_decay >= 0, "AdamW eps must be positive and weight decay non-negative");
    constexpr size_t gsize = 16;
    ggml_init_params ip = {ggml_tensor_overhead() * gsize + ggml_graph_overhead_custom(gsize, false), nullptr, true};
    // (on their own scheduler, kStep, so that the micro-batches' persistent graphs stay allocated)
    // computes `out`; `in`, when given, is an input set to in_data after allocation
    auto run = [&](ggml_context * ctx, ggml_tensor * out, const char * what, ggml_tensor * in, const void * in_data) {
        const WaitOnExit drain{sched(kKept)};
        ggml_cgraph * gf = ggml_new_graph_custom(ctx, gsize, false);
        ggml_build_forward_expand(gf, out);
        launch_graph(kStep, gf, std::string("cannot allocate the ") + what + " graph", [&] {
            if (in) ggml_backend_tensor_set(in, in_data, 0, ggml_nbytes(in));
        });
    };

    // 1. global gradient norm over every gradient at once
    double norm = 0;
    {
        ggml_context_ptr ctx(ggml_init(ip));
        ggml_tensor * sq = ggml_sum(ctx.get(), ggml_sqr(ctx.get(), lora_->flat_grads()));
        ggml_set_output(sq);
        run(ctx.get(), sq, "gradient norm", nullptr, nullptr);
        float v = 0;
        ggml_backend_tensor_get(sq, &v, 0, sizeof(float));
        norm = std::sqrt((double) v);
    }
    require(std::isfinite(norm), "the gradient norm is not finite (loss diverged?)");

    // 2. clip (as torch.nn.utils.clip_grad_norm_) and AdamW (as torch.optim.AdamW), all tensors in one op
    const float coef = p.max_grad_norm > 0 ? (float) std::min(1.0, p.max_grad_norm / (norm + 1e-6)) : 1.0f;
    step_++;
    const float hparams[7] = {p.lr, p.beta1, p.beta2, p.eps, p.weight_decay,
                              (float) (1.0 / (1.0 - std::pow((double) p.beta1, (double) step_))),
                              (float) (1.0 / (1.0 - std::pow((double) p.beta2, (double) step_)))};
    {
        ggml_context_ptr ctx(ggml_init(ip));
        ggml_tensor * params = ggml_new_tensor_1d(ctx.get(), GGML_TYPE_F32, 7);
        ggml_set_input(params);
        // clipped in place (the step zeroes the gradients after), so the step's buffer holds the norm's squares alone
        ggml_tensor * g = coef < 1.0f ? ggml_scale_inplace(ctx.get(), lora_->flat_grads(), coef) : lora_->flat_grads();
        run(ctx.get(), ggml_opt_step_adamw(ctx.get(), lora_->flat_params(), g, lora_->flat_m(), lora_->flat_v(), params),
            "the optimizer step", params, hparams);
    }
    lora_->zero_grads();
    return StepResult{norm, step_};
}

void Trainer::load_adapter(const std::string & path) { read_adapter_gguf(path, model_->hp, *lora_); }

void Trainer::check_adapter(const std::string & path) const { check_adapter_gguf(path, model_->hp, *lora_); }

void Trainer::save_adapter(const std::string & path) const { write_adapter_gguf(path, model_->hp, *lora_); }

void Trainer::save_state(const std::string & path) const { write_state_gguf(path, model_->hp, *lora_, step_, micro_); }

void Trainer::load_state(const std::string & path) { read_state_gguf(path, model_->hp, *lora_, step_, micro_); }

}  // namespace tang
