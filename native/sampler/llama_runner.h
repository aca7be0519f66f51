// Inference through libllama itself: a GGUF base with zero or more GGUF LoRA adapters, in one
// context with an f32 KV cache and flash attention off (so its numbers are comparable with the
// training engine's). Tokenizes, returns every position's logits, and generates with Hugging
// Face sampling semantics (processors, warpers, seeded draw; our n-gram ban sampler).
#pragma once

#include <cstdint>
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "adapter_ref.h"
#include "llama-cpp.h"

namespace tang {

// Sampling with Hugging Face generate() semantics. Processors: repetition penalty, n-gram ban;
// then, when do_sample, warpers temperature, top-k, top-p, min-p and a seeded draw; else argmax.
struct SamplingParams {
    bool do_sample = true;
    float temperature = 0.1f;
    int top_k = 0;              // 0 = off
    float top_p = 0.3f;         // 1 = off
    float min_p = 0.0f;         // 0 = off
    float repeat_penalty = 1.0f;  // 1 = off
    int no_repeat_ngram_size = 3; // 0 = off
    int max_new_tokens = 128;
    uint32_t seed = 42;
    std::vector<std::string> stop;  // a sequence ends once its text contains one of these
};

// What generate_batch reports while it runs (from its thread), and how it is stopped.
struct GenerateHooks {
    std::function<void(size_t prompt, int32_t token)> on_token;
    std::function<void(size_t prompt, const std::vector<int32_t> & tokens)> on_done;
    const std::atomic<bool> * cancel = nullptr;  // set: the call throws "generation cancelled"
};

struct RunnerOptions {
    std::string device = "auto";  // as tang::pick_device: "cpu" | "cuda" | "auto" | a device name
    int n_ctx = 1024;             // per sequence
    int n_parallel = 1;           // sequences decoded together by generate_batch
    int n_threads = 0;            // 0 = all cores
    bool vocab_only = false;      // tokenizer only: no weights, no context
};

class LlamaRunner {
  public:
    LlamaRunner(const std::string & model_path, const std::vector<AdapterRef> & adapters, const RunnerOptions & opt);
    ~LlamaRunner();
    LlamaRunner(const LlamaRunner &) = delete;
    LlamaRunner & operator=(const LlamaRunner &) = delete;

    int64_t n_vocab() const;
    int32_t eos() const;
    std::vector<int32_t> tokenize(const std::string & text, bool add_special) const;
    std::string detokenize(const std::vector<int32_t> & tokens) const;
    // The model's own chat template (tokenizer.chat_template, as libllama knows it) applied to a
    // system and a user message, ready for the assistant's answer.
    std::string chat_prompt(const std::string & system, const std::string & user) const;
    std::vector<float> logits(const std::vector<int32_t> & tokens);  // (n_vocab) per token
    // Prompts as parallel sequences of one context, n_parallel at a time (a slot takes the next
    // prompt as soon as its sequence ends; n_parallel 1 = one by one). Each prompt has its own
    // sampler chain seeded with p.seed, so its result does not depend on its neighbours'.
    // A sequence ends at end-of-generation, max_new_tokens or a stop string. Returns the
    // outputs in prompt order.
    std::vector<std::vector<int32_t>> generate_batch(const std::vector<std::vector<int32_t>> & prompts,
                                                     const SamplingParams & p, const GenerateHooks & hooks = {});

  private:
    void decode(const std::vector<int32_t> & tokens, int32_t pos0, bool all_logits);
    void validate(const SamplingParams & p) const;
    llama_sampler_ptr make_chain(const SamplingParams & p) const;

    // in this order, so the context goes before the adapters and they before the model
    llama_model_ptr model_;
    std::vector<llama_adapter_lora_ptr> adapters_;
    llama_context_ptr ctx_;
    int n_ctx_ = 0;       // per sequence
    int n_parallel_ = 1;
};

}  // namespace tang
