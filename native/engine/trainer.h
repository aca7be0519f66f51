// Trains one LoRA adapter on a frozen base model, one call at a time, as TypeScript drives it:
//   train_micro_batch (forward + backward with activations recomputed per block, gradients accumulate)  x k
//   optimizer_step    (global-norm clipping, AdamW, gradients zeroed)
// plus eval_loss, logits (forward only, no dropout), and adapter / state files.
// Every graph runs through one ggml backend scheduler on the chosen device; on CUDA no node
// may land on the CPU backend (stats report the count so tests can assert it).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "activation_store.h"
#include "base_model.h"
#include "ggml-backend.h"
#include "ggml-cpp.h"
#include "llama_graph.h"
#include "lora_adapter.h"
#include "micro_batch.h"
#include "op_profile.h"

namespace tang {

struct TrainerOptions {
    std::string device = "auto";  // "cpu" | "cuda" | "auto" (cuda when present) | a ggml device name
    int n_threads = 0;            // CPU threads, 0 = all cores
    bool checkpointing = true;    // recompute activations per block (false: keep them all)
    int64_t keep_blocks = 0;      // with checkpointing: the last this many residual blocks (2 per layer) keep theirs
};

struct MicroBatchResult {
    double loss = 0;          // mean cross-entropy over this micro-batch's targets
    int64_t n_targets = 0;
    int64_t n_tokens = 0;
    int n_cpu_nodes = 0;      // graph nodes the scheduler put on the CPU while a GPU was chosen
    size_t compute_bytes = 0; // largest scheduler buffer among this micro-batch's graphs
    int n_graphs = 0;         // graphs computed for this micro-batch
    double host_ms = 0;       // wall time outside graph computation: building, allocating, copying in and out
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

    const BaseModel & model() const { return *model_; }
    LoraAdapter & lora() { return *lora_; }
    std::string device_name() const;
    int64_t step() const { return step_; }
    size_t peak_compute_bytes() const { return peak_compute_; }

  private:
    MicroBatchResult forward(const MicroBatch & b, std::vector<float> * logits_out);
    ggml_tensor * expand_backward(ggml_context * ctx, ggml_cgraph * gf, ggml_tensor * loss) const;
    // Allocates gf, fills its inputs from b (all_logits: out_rows = every token; seed: the
    // loss gradient's seed, set to seed_value) and computes it; r gathers the graph's stats.
    void compute(ggml_cgraph * gf, const GraphInputs & in, const MicroBatch & b, bool all_logits, ggml_tensor * seed,
                 float seed_value, MicroBatchResult & r);
    double run_graph(ggml_cgraph * gf, const std::string & no_memory, const std::function<void()> & fill_inputs);
    void check_supported(ggml_cgraph * gf) const;

    ggml_backend_dev_t dev_ = nullptr;    // the training device (CPU or GPU)
    ggml_backend_ptr backend_;            // its backend
    ggml_backend_ptr cpu_;                // the CPU backend (the scheduler's fallback)
    ggml_backend_sched_ptr sched_;
    std::unique_ptr<OpProfile> profile_;  // with TANG_LORA_PROFILE only
    std::unique_ptr<BaseModel> model_;
    std::unique_ptr<LoraAdapter> lora_;
    std::unordered_map<const ggml_tensor *, ggml_tensor *> grad_acc_;  // LoRA tensor -> its gradient accumulator
    std::unique_ptr<ActivationStore> store_;  // block inputs of the checkpointed training step
    int64_t first_kept_ = 0;  // blocks from here on keep their activations; those before are recomputed
    int64_t step_ = 0;                    // optimizer steps taken
    int64_t micro_ = 0;                   // training micro-batches seen (dropout stream)
    size_t peak_compute_ = 0;
};

}  // namespace tang
