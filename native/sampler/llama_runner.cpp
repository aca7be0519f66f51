#include "llama_runner.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "device.h"
#include "errors.h"
#include "gguf_inspect.h"
#include "llama.h"
#include "log.h"
#include "ngram_ban.h"

namespace tang {

namespace {

// A llama_batch that frees itself (llama-cpp.h has owning pointers for everything else).
class Batch {
  public:
    explicit Batch(int32_t capacity) : b_(llama_batch_init(capacity, 0, 1)) {}
    ~Batch() { llama_batch_free(b_); }
    Batch(const Batch &) = delete;
    Batch & operator=(const Batch &) = delete;

    int32_t add(int32_t token, int32_t pos, int32_t seq, bool logits) {  // returns the token's index
        const int32_t i = b_.n_tokens++;
        b_.token[i] = token;
        b_.pos[i] = pos;
        b_.n_seq_id[i] = 1;
        b_.seq_id[i][0] = seq;
        b_.logits[i] = logits;
        return i;
    }
    void clear() { b_.n_tokens = 0; }
    llama_batch get() const { return b_; }

  private:
    llama_batch b_;
};

}  // namespace

LlamaRunner::LlamaRunner(const std::string & model_path, const std::vector<AdapterRef> & adapters,
                         const RunnerOptions & opt) : n_ctx_(opt.n_ctx), n_parallel_(opt.n_parallel) {
    log_init();
    require(opt.n_ctx >= 16 && opt.n_ctx <= (1 << 20), "context size must be from 16 to 1048576 tokens");
    require(opt.n_parallel >= 1 && opt.n_parallel <= 256, "parallel sequences must be from 1 to 256");
    // Every check of the inputs before anything is loaded (the owning pointers free what was).
    inspect_gguf(model_path);  // clear errors for missing, non-GGUF and truncated files
    require(!opt.vocab_only || adapters.empty(), "a tokenizer-only runner takes no adapters");
    for (const AdapterRef & a : adapters) check_adapter(a);
    static std::once_flag once;
    std::call_once(once, [] { llama_backend_init(); });

    ggml_backend_dev_t dev = pick_device(opt.device);
    const bool use_gpu = !is_cpu(dev);
    ggml_backend_dev_t devices[2] = {use_gpu ? dev : nullptr, nullptr};

    llama_model_params mp = llama_model_default_params();
    mp.devices = devices;
    mp.n_gpu_layers = use_gpu ? -1 : 0;
    mp.vocab_only = opt.vocab_only;
    // TANG_LORA_NO_REPACK=1 keeps CPU weights as stored (llama.cpp's --no-repack): no AVX2
    // repack, no AMX layout; for comparing the CPU kernels.
    const char * no_repack = std::getenv("TANG_LORA_NO_REPACK");
    mp.use_extra_bufts = !(no_repack && std::string(no_repack) == "1");
    clear_log_error();
    model_.reset(llama_model_load_from_file(model_path.c_str(), mp));
    require(model_ != nullptr, "libllama cannot load '" + model_path + "'" +
                                   (last_log_error().empty() ? "" : ": " + last_log_error()));

    if (opt.vocab_only) return;
    std::vector<float> scales;
    for (const AdapterRef & a : adapters) {
        clear_log_error();
        adapters_.emplace_back(llama_adapter_lora_init(model_.get(), a.path.c_str()));
        if (!adapters_.back()) {
            const std::string why = last_log_error();
            throw Error("cannot apply adapter '" + a.path + "' to '" + model_path + "'" + (why.empty() ? "" : ": " + why));
        }
        scales.push_back(a.scale);
    }

    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t) (opt.n_ctx * opt.n_parallel);
    cp.n_batch = cp.n_ctx;
    cp.n_ubatch = (uint32_t) opt.n_ctx;
    cp.n_seq_max = (uint32_t) opt.n_parallel;
    cp.kv_unified = true;
    cp.type_k = GGML_TYPE_F32;
    cp.type_v = GGML_TYPE_F32;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.op_offload = use_gpu;
    const int threads = opt.n_threads > 0 ? opt.n_threads : (int) std::max(1u, std::thread::hardware_concurrency());
    cp.n_threads = threads;
    cp.n_threads_batch = threads;
    cp.no_perf = true;
    ctx_.reset(llama_init_from_model(model_.get(), cp));
    require(ctx_ != nullptr, "libllama cannot create a context for '" + model_path + "'");
    std::vector<llama_adapter_lora *> applied;
    for (const llama_adapter_lora_ptr & a : adapters_) applied.push_back(a.get());
    if (!applied.empty()) llama_set_adapters_lora(ctx_.get(), applied.data(), applied.size(), scales.data());
}

LlamaRunner::~LlamaRunner() = default;

int64_t LlamaRunner::n_vocab() const { return llama_vocab_n_tokens(llama_model_get_vocab(model_.get())); }

int32_t LlamaRunner::eos() const { return llama_vocab_eos(llama_model_get_vocab(model_.get())); }

std::vector<int32_t> LlamaRunner::tokenize(const std::string & text, bool add_special) const {
    const llama_vocab * vocab = llama_model_get_vocab(model_.get());
    std::vector<int32_t> out(text.size() + 8);
    int32_t n = llama_tokenize(vocab, text.data(), (int32_t) text.size(), out.data(), (int32_t) out.size(), add_special, true);
    if (n < 0) {
        out.resize((size_t) -n);
        n = llama_tokenize(vocab, text.data(), (int32_t) text.size(), out.data(), (int32_t) out.size(), add_special, true);
    }
    require(n >= 0, "cannot tokenize the text");
    out.resize((size_t) n);
    return out;
}

std::string LlamaRunner::detokenize(const std::vector<int32_t> & tokens) const {
    const llama_vocab * vocab = llama_model_get_vocab(model_.get());
    std::string out(tokens.size() * 8 + 16, '\0');
    int32_t n = llama_detokenize(vocab, tokens.data(), (int32_t) tokens.size(), out.data(), (int32_t) out.size(), true, false);
    if (n < 0) {
        out.resize((size_t) -n);
        n = llama_detokenize(vocab, tokens.data(), (int32_t) tokens.size(), out.data(), (int32_t) out.size(), true, false);
    }
    out.resize((size_t) std::max(0, n));
    return out;
}

std::string LlamaRunner::chat_prompt(const std::string & system, const std::string & user) const {
    const char * tmpl = llama_model_chat_template(model_.get(), nullptr);
    require(tmpl != nullptr, "the model has no chat template (tokenizer.chat_template); use the llama2 or chatml template");
    const llama_chat_message msgs[2] = {{"system", system.c_str()}, {"user", user.c_str()}};
    std::vector<char> buf(1024 + 2 * (system.size() + user.size()));
    int32_t n = llama_chat_apply_template(tmpl, msgs, 2, true, buf.data(), (int32_t) buf.size());
    require(n >= 0, "libllama does not support this model's chat template");
    if ((size_t) n > buf.size()) {
        buf.resize((size_t) n);
        n = llama_chat_apply_template(tmpl, msgs, 2, true, buf.data(), (int32_t) buf.size());
    }
    return std::string(buf.data(), (size_t) n);
}

void LlamaRunner::decode(const std::vector<int32_t> & tokens, int32_t pos0, bool all_logits) {
    require(ctx_ != nullptr, "this runner was opened for its tokenizer only");
    const int64_t nv = n_vocab();
    for (int32_t t : tokens) require(t >= 0 && t < nv, [&] { return "token id " + std::to_string(t) + " is outside the vocabulary"; });
    require(pos0 + (int64_t) tokens.size() <= n_ctx_, "the sequence does not fit the context of " + std::to_string(n_ctx_) + " tokens");
    Batch b((int32_t) tokens.size());
    for (size_t i = 0; i < tokens.size(); ++i) b.add(tokens[i], pos0 + (int32_t) i, 0, all_logits || i + 1 == tokens.size());
    const int32_t rc = llama_decode(ctx_.get(), b.get());
    require(rc == 0, "llama_decode failed (" + std::to_string(rc) + ")");
}

std::vector<float> LlamaRunner::logits(const std::vector<int32_t> & tokens) {
    require(!tokens.empty(), "no tokens to evaluate");
    llama_memory_clear(llama_get_memory(ctx_.get()), true);
    decode(tokens, 0, true);
    const int64_t nv = n_vocab();
    std::vector<float> out(tokens.size() * (size_t) nv);
    for (size_t i = 0; i < tokens.size(); ++i) {
        const float * l = llama_get_logits_ith(ctx_.get(), (int32_t) i);
        std::copy(l, l + nv, out.begin() + (int64_t) i * nv);
    }
    return out;
}

void LlamaRunner::validate(const SamplingParams & p) const {
    require(p.max_new_tokens >= 1 && p.max_new_tokens <= n_ctx_,
            "max_new_tokens must be from 1 to the context size (" + std::to_string(n_ctx_) + "), got " +
                std::to_string(p.max_new_tokens));
    require(!p.do_sample || p.temperature > 0, "temperature must be positive when sampling (0 = greedy)");
    require(p.top_p > 0 && p.top_p <= 1 && p.min_p >= 0 && p.min_p < 1 && p.top_k >= 0,
            "top_p must be in (0, 1], min_p in [0, 1), top_k >= 0");
    require(p.repeat_penalty > 0 && p.no_repeat_ngram_size >= 0, "repeat penalty must be positive, n-gram size >= 0");
    for (const std::string & x : p.stop) require(!x.empty(), "stop strings must not be empty");
}

llama_sampler_ptr LlamaRunner::make_chain(const SamplingParams & p) const {
    llama_sampler_ptr owner(llama_sampler_chain_init(llama_sampler_chain_default_params()));
    llama_sampler * chain = owner.get();
    if (p.repeat_penalty != 1.0f) {
        llama_sampler_chain_add(chain, llama_sampler_init_penalties((int32_t) n_vocab(), n_ctx_, p.repeat_penalty, 0, 0));
    }
    if (p.no_repeat_ngram_size > 0) llama_sampler_chain_add(chain, ngram_ban_sampler_init(p.no_repeat_ngram_size));
    if (p.do_sample) {
        llama_sampler_chain_add(chain, llama_sampler_init_temp(p.temperature));
        if (p.top_k > 0) llama_sampler_chain_add(chain, llama_sampler_init_top_k(p.top_k));
        if (p.top_p < 1) llama_sampler_chain_add(chain, llama_sampler_init_top_p(p.top_p, 1));
        if (p.min_p > 0) llama_sampler_chain_add(chain, llama_sampler_init_min_p(p.min_p, 1));
        llama_sampler_chain_add(chain, llama_sampler_init_dist(p.seed));
    } else {
        llama_sampler_chain_add(chain, llama_sampler_init_greedy());
    }
    return owner;
}

std::vector<std::vector<int32_t>> LlamaRunner::generate_batch(
    const std::vector<std::vector<int32_t>> & prompts, const SamplingParams & p, const GenerateHooks & hooks) {
    require(ctx_ != nullptr, "this runner was opened for its tokenizer only");
    validate(p);
    for (size_t i = 0; i < prompts.size(); ++i) {
        require(!prompts[i].empty(), "prompt " + std::to_string(i) + " is empty");
        require((int64_t) prompts[i].size() + p.max_new_tokens <= n_ctx_,
                "prompt " + std::to_string(i) + " and max_new_tokens do not fit the context of " + std::to_string(n_ctx_));
        for (int32_t t : prompts[i]) require(t >= 0 && t < n_vocab(), [&] { return "token id outside the vocabulary in prompt " + std::to_string(i); });
    }
    struct Slot {
        size_t prompt = SIZE_MAX;  // SIZE_MAX: idle
        llama_sampler_ptr chain;
        int32_t pos = 0;
        int32_t batch_index = -1;  // where its logits are in the current batch
        std::vector<int32_t> out;
        std::string text;  // of out, for stop strings
    };
    std::vector<Slot> slots((size_t) n_parallel_);
    std::vector<std::vector<int32_t>> results(prompts.size());
    llama_memory_t mem = llama_get_memory(ctx_.get());
    llama_memory_clear(mem, true);
    const llama_vocab * vocab = llama_model_get_vocab(model_.get());
    Batch batch(n_ctx_ * n_parallel_);
    auto stopped = [&](Slot & s, llama_token t) {
        if (p.stop.empty()) return false;
        char piece[256];
        const int32_t n = llama_token_to_piece(vocab, t, piece, sizeof(piece), 0, false);
        if (n <= 0) return false;
        s.text.append(piece, (size_t) n);
        // A new match must end in the new piece: search only the tail it can start in.
        return std::any_of(p.stop.begin(), p.stop.end(), [&](const std::string & x) {
            const size_t tail = x.size() + (size_t) n;
            return s.text.find(x, s.text.size() > tail ? s.text.size() - tail : 0) != std::string::npos;
        });
    };
    size_t next = 0, finished = 0;
    while (finished < prompts.size()) {
        if (hooks.cancel && hooks.cancel->load()) throw Error("generation cancelled");
        batch.clear();
        for (size_t k = 0; k < slots.size(); ++k) {
            Slot & s = slots[k];
            if (s.prompt == SIZE_MAX && next < prompts.size()) {  // start the next prompt here
                s.prompt = next++;
                s.chain = make_chain(p);
                s.out.clear();
                s.text.clear();
                const std::vector<int32_t> & pr = prompts[s.prompt];
                for (int32_t t : pr) llama_sampler_accept(s.chain.get(), t);
                for (size_t i = 0; i < pr.size(); ++i) s.batch_index = batch.add(pr[i], (int32_t) i, (int32_t) k, i + 1 == pr.size());
                s.pos = (int32_t) pr.size();
            } else if (s.prompt != SIZE_MAX) {
                s.batch_index = batch.add(s.out.back(), s.pos++, (int32_t) k, true);
            }
        }
        const int32_t rc = llama_decode(ctx_.get(), batch.get());
        require(rc == 0, "llama_decode failed (" + std::to_string(rc) + ")");
        for (size_t k = 0; k < slots.size(); ++k) {
            Slot & s = slots[k];
            if (s.prompt == SIZE_MAX) continue;
            const llama_token t = llama_sampler_sample(s.chain.get(), ctx_.get(), s.batch_index);
            const bool eog = llama_vocab_is_eog(vocab, t);
            if (!eog) {
                s.out.push_back(t);
                if (hooks.on_token) hooks.on_token(s.prompt, t);
            }
            if (eog || (int) s.out.size() >= p.max_new_tokens || stopped(s, t)) {
                results[s.prompt] = s.out;
                if (hooks.on_done) hooks.on_done(s.prompt, s.out);
                llama_memory_seq_rm(mem, (llama_seq_id) k, -1, -1);
                s.chain.reset();
                s.prompt = SIZE_MAX;
                finished++;
            }
        }
    }
    return results;
}

}  // namespace tang
