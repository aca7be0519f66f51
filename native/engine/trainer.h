// Trains one LoRA adapter on a frozen base model, one call at a time, as TypeScript drives it:
//   train_micro_batch (forward + backward with activations recomputed per block, gradients accumulate)  x k
//   optimizer_step    (global-norm clipping, AdamW, gradients zeroed)
// plus eval_loss, logits (forward only, no dropout), and adapter / state files.
// Every graph runs through a ggml backend scheduler on the chosen device, one scheduler per kind of
// graph (Stage); on CUDA no node may land on the CPU backend (stats report the count so tests can
// assert it).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "activation_store.h"
#include "base_model.h"
#include "device_batch.h"
#include "ggml-backend.h"
#include "ggml-cpp.h"
#include "llama_graph.h"
#include "lora_adapter.h"
#include "micro_batch.h"
#include "persistent_graph.h"
#include "op_profile.h"

namespace tang {

struct TrainerOptions {
    std::string device = "auto";  // "cpu" | "cuda" | "auto" (cuda when present) | a ggml device name
    int n_threads = 0;            // CPU threads, 0 = all cores
    bool checkpointing = true;    // recompute activations per block (false: keep them all)
    int64_t keep_blocks = 0;      // with checkpointing: the last this many residual blocks (2 per layer) keep theirs
};

// What a training step of rows x len tokens needs on the device besides what is allocated,
// measured by sizing its graphs (nothing allocated or computed): the memory plan's inputs.
struct MemoryNeeds {
    size_t free_bytes = 0, total_bytes = 0;  // the device's, now
    size_t held_bytes = 0;   // allocated: weights, LoRA tensors, gradients, AdamW moments
    size_t slot_bytes = 0;   // one stored block input (n_embd, T) f32
    size_t head_bytes = 0;   // compute buffer of the graph that keeps no block: the head, forward and backward
    size_t layer_bytes = 0;  // what that graph needs more per kept layer (two blocks)
    size_t block_bytes = 0;  // compute buffers of the recomputing graphs, held beside the head's: the forward
                             // pass storing block inputs, a recomputed attention block and a feed-forward one
                             // (with shared_buffers, the largest of them: one buffer serves every graph)
    bool shared_buffers = false;  // one compute buffer for all graphs (the CPU), not one per kind
    size_t bf16_extra_bytes = 0;  // what bf16 copies of the quantized weights add (0 on the CPU: never planned there)
    size_t bf16_source_bytes = 0; // the quantized weights, held beside their copies while expanding
    size_t scratch_bytes = 0;     // the GPU's temporary bf16 operands of one product at most: the largest
                                  // weight expanded, and the logits' gradient (T x n_vocab) converted, beside
                                  // the last activation converted, kept for the next product
    size_t step_bytes = 0;   // the optimizer step's buffer: the gradients squared for their norm
    int64_t n_blocks = 0;    // 2 * n_layer
};

struct MicroBatchResult {
    double loss = 0;          // mean cross-entropy over this micro-batch's targets
    int64_t n_targets = 0;
    int64_t n_tokens = 0;
    int n_cpu_nodes = 0;      // graph nodes the scheduler put on the CPU while a GPU was chosen
    size_t compute_bytes = 0; // the schedulers' compute buffers on the device after this micro-batch
    int n_graphs = 0;         // graphs computed for this micro-batch
    int n_reused = 0;         // of them, launched again as built and allocated for an earlier micro-batch
    double host_ms = 0;       // wall time outside queueing graphs and waiting for the last: building, allocating,
                              // copying (on a GPU that overlaps the graphs queued before)
};

struct AdamWParams {
    float lr = 3e-4f;
    float beta1 = 0.9f;
    float beta2 = 0.999f;
    float eps = 1e-8f;
    float weight_decay = 0.0f;
    float max_grad_norm = 1.0f;  // <= 0: no clipping
};

struct StepResult {
    double grad_norm = 0;  // global L2 norm before clipping
    int64_t step = 0;      // optimizer steps taken so far
};

class Trainer {
  public:
    Trainer(const std::string & model_path, const LoraConfig & cfg, const TrainerOptions & opt);
    ~Trainer();
    Trainer(const Trainer &) = delete;
    Trainer & operator=(const Trainer &) = delete;

    // loss_scale: the micro-batch's mean loss enters the step's objective times this factor
    // (HF Trainer normalization: n_targets(micro) / n_targets(all micro-batches of the step)).
    MicroBatchResult train_micro_batch(const MicroBatch & b, float loss_scale);
    StepResult optimizer_step(const AdamWParams & p);
    MicroBatchResult eval_loss(const MicroBatch & b);
    std::vector<float> logits(const MicroBatch & b, int64_t & n_vocab);  // (n_vocab, every token)

    void load_adapter(const std::string & path);  // replaces A and B
    void check_adapter(const std::string & path) const;  // throws unless the file holds A and B as they are
    void save_adapter(const std::string & path) const;
    void save_state(const std::string & path) const;
    void load_state(const std::string & path);

    MemoryNeeds measure_memory(int64_t rows, int64_t len);
    // The last `keep` residual blocks keep their activations, the others are recomputed (keep >=
    // 2 * n_layer: none is, no checkpointing). Frees what the recomputation held.
    void set_kept_blocks(int64_t keep);
    int64_t kept_blocks() const { return 2 * model_->hp.n_layer - first_kept_; }
    // bf16 copies of the quantized weights replace them (GPU only): the products skip the expansion
    // per call, for more memory; the same values as expanding per call.
    void use_bf16_weights();
    bool bf16_weights() const { return bf16_weights_; }

    const BaseModel & model() const { return *model_; }
    LoraAdapter & lora() { return *lora_; }
    std::string device_name() const;
    int64_t step() const { return step_; }
    size_t peak_compute_bytes() const { return peak_compute_; }

  private:
    MicroBatchResult forward(const MicroBatch & b, std::vector<float> * logits_out);
    // Adds the backward pass from roots, each (tensor, dL/d(tensor)) with the gradient given
    // (LoRA gradients accumulate in the adapter's grad tensors).
    void expand_backward(ggml_context * ctx, ggml_cgraph * gf,
                         const std::vector<std::pair<ggml_tensor *, ggml_tensor *>> & roots) const;
    // Blocks first_kept.. and the head (final norm, logits, loss), forward and backward, from x0,
    // the input of block first_kept (nullptr when 0: the embeddings); dL/dx0 into dx0 when given.
    ggml_cgraph * kept_graph(ggml_context * ctx, GraphBuilder & gb, const GraphInputs & in, int64_t first_kept,
                             ggml_tensor * x0, ggml_tensor * dx0) const;
    // Block k recomputed from its input x and its backward pass, g = dL/d(its output); for k > 0
    // dL/dx into dx.
    ggml_cgraph * block_graph(ggml_context * ctx, GraphBuilder & gb, int64_t k, ggml_tensor * x, ggml_tensor * g,
                              ggml_tensor * dx) const;
    // The kinds of graph, each with its own scheduler and so its own compute buffer on a GPU: a
    // scheduler re-reserves, waiting for the device, whenever a graph's shape differs from its last
    // one's, so with one scheduler each of a micro-batch's graphs would wait for the one before.
    // Graphs of one kind have one shape (but block 0's, which has no input gradient, and eval's on kKept:
    // a re-reserve each), and the store and kept graphs stay allocated from one micro-batch to the next
    // (PersistentGraph), the optimizer's having their own. On the CPU, which computes each graph there
    // and then, the stages share kKept's scheduler and its one buffer (shared_buffers_).
    enum Stage { kKept, kStore, kAttention, kFeedForward, kStep, kStages };
    static Stage block_stage(int64_t k) { return k % 2 == 0 ? kAttention : kFeedForward; }
    Stage buffer_of(Stage s) const { return shared_buffers_ ? kKept : s; }
    ggml_backend_sched_t sched(Stage s) const { return scheds_[buffer_of(s)].get(); }
    void new_sched(Stage s);  // (again: the old one and its buffer are freed)
    // Forward from the embeddings through blocks 0 .. first_kept - 1, copying each block's input and
    // block first_kept's to slot(k).
    ggml_cgraph * store_graph(ggml_context * ctx, GraphBuilder & gb, int64_t first_kept,
                              const std::function<ggml_tensor *(int64_t)> & slot) const;
    // Allocates gf (its inputs are batch_'s; not again for the persistent graph persistent_id that s's
    // scheduler holds) and queues its computation; r gathers its stats.
    void launch(Stage s, ggml_cgraph * gf, const MicroBatch & b, MicroBatchResult & r, uint64_t persistent_id = 0);
    using BuildGraph = std::function<ggml_cgraph *(ggml_context *, GraphBuilder &, const GraphInputs &)>;
    // Stage s's persistent graph for b (built when it cannot be reused), launched as launch() does.
    void launch_persistent(Stage s, const MicroBatch & b, MicroBatchResult & r, const BuildGraph & build);
    void forget_graphs();  // what the schedulers hold and the persistent graphs: build and allocate anew
    // Checks and allocates gf, runs fill_inputs, then queues its computation (a CPU computes it
    // there and then); returns the milliseconds queueing. Nothing waits unless the scheduler re-reserves.
    // A persistent graph (its id) that s's scheduler still holds is neither checked nor allocated again.
    double launch_graph(Stage s, ggml_cgraph * gf, const std::string & no_memory, const std::function<void()> & fill_inputs,
                        uint64_t persistent_id = 0);
    double finish();  // waits for the queued graphs; returns the milliseconds waited
    void finish(MicroBatchResult & r);  // the same for a micro-batch: the wait and the buffers held into r
    size_t compute_bytes() const;  // every scheduler's buffer on the training device
    void check_supported(ggml_cgraph * gf) const;

    ggml_backend_dev_t dev_ = nullptr;    // the training device (CPU or GPU)
    ggml_backend_ptr backend_;            // its backend
    ggml_backend_ptr cpu_;                // the CPU backend (the scheduler's fallback)
    std::unique_ptr<OpProfile> profile_;  // with TANG_LORA_PROFILE only
    ggml_backend_sched_ptr scheds_[kStages];
    uint64_t held_[kStages] = {};        // the persistent graph each scheduler holds allocated (its id; 0: none)
    PersistentGraph persistent_[kStages];  // kStore's and kKept's
    bool shared_buffers_ = false;
    std::unique_ptr<BaseModel> model_;
    std::unique_ptr<LoraAdapter> lora_;
    std::unordered_map<const ggml_tensor *, ggml_tensor *> grad_acc_;  // LoRA tensor -> its gradient accumulator
    std::unique_ptr<ActivationStore> store_;  // block inputs of the checkpointed training step
    std::unique_ptr<DeviceBatch> batch_;      // the current micro-batch's inputs on the device
    int64_t first_kept_ = 0;  // blocks from here on keep their activations; those before are recomputed
    bool bf16_weights_ = false;
    int64_t step_ = 0;                    // optimizer steps taken
    int64_t micro_ = 0;                   // training micro-batches seen (dropout stream)
    size_t peak_compute_ = 0;
};

}  // namespace tang
