#include "runner_wrap.h"

#include <algorithm>
#include <future>
#include <memory>

#include "args.h"
#include "errors.h"
#include "exclusive.h"

namespace tang_addon {

namespace {

Napi::FunctionReference * g_constructor = nullptr;
using Ptr = std::shared_ptr<tang::LlamaRunner>;

Napi::Int32Array to_js_tokens(Napi::Env env, const std::vector<int32_t> & v) {
    Napi::Int32Array a = Napi::Int32Array::New(env, v.size());
    std::copy(v.begin(), v.end(), a.Data());
    return a;
}

}  // namespace

void RunnerWrap::Register(Napi::Env env, Napi::Object exports) {
    Napi::Function cls = DefineClass(env, "Runner",
                                     {InstanceMethod("tokenize", &RunnerWrap::Tokenize),
                                      InstanceMethod("detokenize", &RunnerWrap::Detokenize),
                                      InstanceMethod("logits", &RunnerWrap::Logits),
                                      InstanceMethod("generateBatch", &RunnerWrap::GenerateBatch),
                                      InstanceMethod("cancel", &RunnerWrap::Cancel),
                                      InstanceMethod("chatPrompt", &RunnerWrap::ChatPrompt),
                                      InstanceMethod("info", &RunnerWrap::Info),
                                      InstanceMethod("dispose", &RunnerWrap::Dispose)});
    g_constructor = new Napi::FunctionReference(Napi::Persistent(cls));
    exports.Set("openRunner", Napi::Function::New(env, &RunnerWrap::Open, "openRunner"));
}

RunnerWrap::RunnerWrap(const Napi::CallbackInfo & info)
    : Napi::ObjectWrap<RunnerWrap>(info), runner_(unwrap<tang::LlamaRunner>(info, "openRunner")) {}

Napi::Value RunnerWrap::Open(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    const std::string model = arg_string(info, 0, "model path");
    const std::vector<tang::AdapterRef> adapters = arg_adapters(info, 1);
    Napi::Object o = arg_object(info, 2, "options");
    tang::RunnerOptions opt;
    opt.device = opt_string(o, "device", "auto");
    opt.n_ctx = (int) opt_number(o, "nCtx", opt.n_ctx);
    opt.n_threads = (int) opt_number(o, "threads", 0);
    opt.n_parallel = (int) opt_number(o, "nParallel", 1);
    opt.vocab_only = o.Get("vocabOnly").ToBoolean();
    return open_wrapped<tang::LlamaRunner>(env, g_constructor,
                                           [=] { return std::make_shared<tang::LlamaRunner>(model, adapters, opt); });
}

tang::LlamaRunner & RunnerWrap::use(Napi::Env env) {
    check_usable(env, runner_ != nullptr, busy_, "Runner");
    return *runner_;
}

Napi::Value RunnerWrap::Tokenize(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    const std::string text = arg_string(info, 0, "text");
    const bool add_special = info.Length() > 1 && info[1].ToBoolean();
    tang::LlamaRunner & r = use(env);
    return to_js_tokens(env, on_js_thread(env, [&] { return r.tokenize(text, add_special); }));
}

Napi::Value RunnerWrap::Detokenize(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    // Allowed beside a running generation: the vocabulary is read-only.
    check_usable(env, runner_ != nullptr, nullptr, "Runner");
    const std::vector<int32_t> tokens = arg_int32_array(info, 0, "tokens");
    return Napi::String::New(env, on_js_thread(env, [&] { return runner_->detokenize(tokens); }));
}

Napi::Value RunnerWrap::Logits(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    std::vector<int32_t> tokens = arg_int32_array(info, 0, "tokens");
    use(env);
    Ptr r = runner_;
    return run_exclusive<std::vector<float>>(
        env, busy_, [r, tokens] { return r->logits(tokens); },
        [](Napi::Env env, std::vector<float> & v) -> Napi::Value {
            Napi::Float32Array a = Napi::Float32Array::New(env, v.size());
            std::copy(v.begin(), v.end(), a.Data());
            return a;
        });
}

namespace {

tang::SamplingParams sampling_params(const Napi::Object & o) {
    tang::SamplingParams p;
    p.temperature = (float) opt_number(o, "temperature", p.temperature);
    p.do_sample = p.temperature > 0;  // temperature 0 = greedy
    Napi::Value ds = o.Get("doSample");
    if (!ds.IsUndefined()) p.do_sample = p.do_sample && ds.ToBoolean();
    p.top_k = (int) opt_number(o, "topK", p.top_k);
    p.top_p = (float) opt_number(o, "topP", p.top_p);
    p.min_p = (float) opt_number(o, "minP", p.min_p);
    p.repeat_penalty = (float) opt_number(o, "repeatPenalty", p.repeat_penalty);
    p.no_repeat_ngram_size = (int) opt_number(o, "noRepeatNgramSize", p.no_repeat_ngram_size);
    p.max_new_tokens = (int) opt_number(o, "maxNewTokens", p.max_new_tokens);
    p.seed = (uint32_t) opt_number(o, "seed", p.seed);
    Napi::Value stop = o.Get("stop");
    if (stop.IsArray()) {
        Napi::Array a = stop.As<Napi::Array>();
        for (uint32_t i = 0; i < a.Length(); ++i) p.stop.push_back(a.Get(i).ToString().Utf8Value());
    } else if (!stop.IsUndefined()) {
        throw Napi::TypeError::New(o.Env(), "stop must be an array of strings");
    }
    return p;
}

// Progress of a generateBatch call: (index, token) per new token, (index, tokens) when a
// prompt is done. `flushed` marks the last event: the JS thread acknowledges it.
struct GenerateEvent {
    size_t prompt = 0;
    int32_t token = 0;
    bool finished = false;
    std::vector<int32_t> done;
    std::promise<void> * flushed = nullptr;
};

void deliver(Napi::Env env, Napi::Function cb, GenerateEvent * e) {
    std::unique_ptr<GenerateEvent> own(e);
    if (e->flushed) {
        e->flushed->set_value();
        return;
    }
    if (env == nullptr || cb.IsEmpty()) return;
    Napi::Number index = Napi::Number::New(env, (double) e->prompt);
    cb.Call({index, e->finished ? (Napi::Value) to_js_tokens(env, e->done) : Napi::Number::New(env, e->token)});
}

// The events of one call, posted from the worker thread and delivered in order on the JS thread.
// Closing waits until the JS thread has delivered them all, so none arrives after the Promise
// settles.
class EventChannel {
  public:
    explicit EventChannel(Napi::ThreadSafeFunction f) : f_(std::move(f)) {}
    ~EventChannel() {
        std::promise<void> flushed;
        std::future<void> ack = flushed.get_future();
        GenerateEvent * last = new GenerateEvent;
        last->flushed = &flushed;
        if (f_.NonBlockingCall(last, deliver) == napi_ok) ack.wait();
        else delete last;
        f_.Release();
    }
    void post(GenerateEvent * e) {
        if (f_.NonBlockingCall(e, deliver) != napi_ok) delete e;
    }

  private:
    Napi::ThreadSafeFunction f_;
};

}  // namespace

Napi::Value RunnerWrap::GenerateBatch(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "prompts must be an array of Int32Array");
    Napi::Array arr = info[0].As<Napi::Array>();
    std::vector<std::vector<int32_t>> prompts;
    for (uint32_t i = 0; i < arr.Length(); ++i) {
        Napi::Value v = arr.Get(i);
        if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
            throw Napi::TypeError::New(env, "prompts must be an array of Int32Array");
        }
        Napi::Int32Array a = v.As<Napi::Int32Array>();
        prompts.emplace_back(a.Data(), a.Data() + a.ElementLength());
    }
    const tang::SamplingParams p = sampling_params(arg_object(info, 1, "sampling options"));
    const bool events = info.Length() > 2 && info[2].IsFunction();
    use(env);
    Ptr r = runner_;
    auto cancel = cancel_;
    cancel->store(false);
    Napi::ThreadSafeFunction tsfn;
    if (events) tsfn = Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "tang-lora generate", 0, 1);
    using R = std::vector<std::vector<int32_t>>;
    return run_exclusive<R>(
        env, busy_,
        [r, prompts, p, cancel, tsfn, events]() mutable {
            tang::GenerateHooks hooks;
            hooks.cancel = cancel.get();
            std::unique_ptr<EventChannel> channel;
            if (events) {
                channel = std::make_unique<EventChannel>(tsfn);
                hooks.on_token = [&](size_t i, int32_t t) { channel->post(new GenerateEvent{i, t, false, {}, nullptr}); };
                hooks.on_done = [&](size_t i, const std::vector<int32_t> & out) {
                    channel->post(new GenerateEvent{i, 0, true, out, nullptr});
                };
            }
            return r->generate_batch(prompts, p, hooks);
        },
        [](Napi::Env env, R & v) -> Napi::Value {
            Napi::Array out = Napi::Array::New(env, v.size());
            for (size_t i = 0; i < v.size(); ++i) out.Set((uint32_t) i, to_js_tokens(env, v[i]));
            return out;
        });
}

Napi::Value RunnerWrap::ChatPrompt(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    check_usable(env, runner_ != nullptr, nullptr, "Runner");  // metadata only: allowed beside a generation
    const std::string system = arg_string(info, 0, "system"), user = arg_string(info, 1, "user");
    return Napi::String::New(env, on_js_thread(env, [&] { return runner_->chat_prompt(system, user); }));
}

Napi::Value RunnerWrap::Cancel(const Napi::CallbackInfo & info) {
    cancel_->store(true);
    return info.Env().Undefined();
}

Napi::Value RunnerWrap::Info(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    tang::LlamaRunner & r = use(env);
    Napi::Object o = Napi::Object::New(env);
    o.Set("nVocab", (double) r.n_vocab());
    o.Set("eos", r.eos());
    return o;
}

Napi::Value RunnerWrap::Dispose(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    use(env);
    return dispose_wrapped(env, std::move(runner_));
}

}  // namespace tang_addon
