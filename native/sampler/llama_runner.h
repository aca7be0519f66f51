// Inference through libllama itself: a GGUF base with zero or more GGUF LoRA adapters, in one
// context with an f32 KV cache and flash attention off (so its numbers are comparable with the
// training engine's). Tokenizes, returns every position's logits, and decodes greedily.
// The sampling chain and batched generation build on this (issue: sampling).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct llama_model;
struct llama_context;
struct llama_adapter_lora;

namespace tang {

struct AdapterRef {
    std::string path;
    float scale = 1.0f;
};

struct RunnerOptions {
    std::string device = "auto";  // "cpu" | "cuda" | "auto"
    int n_ctx = 1024;
    int n_threads = 0;            // 0 = all cores
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
    std::vector<int32_t> generate_greedy(const std::vector<int32_t> & prompt, int max_new);

  private:
    void decode(const std::vector<int32_t> & tokens, int32_t pos0, bool all_logits);

    llama_model * model_ = nullptr;
    llama_context * ctx_ = nullptr;
    std::vector<llama_adapter_lora *> adapters_;
    int n_ctx_ = 0;
};

}  // namespace tang
