// Inference through libllama itself: a GGUF base with zero or more GGUF LoRA adapters, in one
// context with an f32 KV cache and flash attention off (so its numbers are comparable with the
// training engine's). Tokenizes, returns every position's logits, and generates with Hugging
// Face sampling semantics (processors, warpers, seeded draw; our n-gram ban sampler).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

struct llama_model;
struct llama_context;
struct llama_adapter_lora;
struct llama_sampler;

namespace tang {

struct AdapterRef {
    std::string path;
    float scale = 1.0f;
};

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
};

struct RunnerOptions {
    std::string device = "auto";  // "cpu" | "cuda" | "auto"
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
    std::vector<float> logits(const std::vector<int32_t> & tokens);  // (n_vocab) per token
    std::vector<int32_t> generate(const std::vector<int32_t> & prompt, const SamplingParams & p);  // stops at EOG
    // Many prompts as parallel sequences of one context (n_parallel at a time); each prompt has
    // its own sampler chain seeded with p.seed, so its result does not depend on its neighbours'.
    // on_done(i, tokens) runs as each prompt finishes; returns the outputs in prompt order.
    std::vector<std::vector<int32_t>> generate_batch(const std::vector<std::vector<int32_t>> & prompts,
                                                     const SamplingParams & p,
                                                     const std::function<void(size_t, const std::vector<int32_t> &)> & on_done);

  private:
    void decode(const std::vector<int32_t> & tokens, int32_t pos0, bool all_logits);
    llama_sampler * make_chain(const SamplingParams & p) const;  // validates p

    llama_model * model_ = nullptr;
    llama_context * ctx_ = nullptr;
    std::vector<llama_adapter_lora *> adapters_;
    int n_ctx_ = 0;       // per sequence
    int n_parallel_ = 1;
};

}  // namespace tang
