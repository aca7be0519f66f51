#include "runner_wrap.h"

#include <algorithm>

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
                                      InstanceMethod("generate", &RunnerWrap::Generate),
                                      InstanceMethod("generateBatch", &RunnerWrap::GenerateBatch),
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
    Napi::Value list = info.Length() > 1 ? info[1] : env.Undefined();
    if (!list.IsArray()) throw Napi::TypeError::New(env, "adapters must be an array of { path, scale }");
    std::vector<tang::AdapterRef> adapters;
    Napi::Array arr = list.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); ++i) {
        if (!arr.Get(i).IsObject()) throw Napi::TypeError::New(env, "adapters must be an array of { path, scale }");
        Napi::Object o = arr.Get(i).As<Napi::Object>();
        adapters.push_back({opt_string(o, "path", ""), (float) opt_number(o, "scale", 1.0)});
    }
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
    return to_js_tokens(env, use(env).tokenize(text, add_special));
}

Napi::Value RunnerWrap::Detokenize(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    return Napi::String::New(env, use(env).detokenize(arg_int32_array(info, 0, "tokens")));
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
    return p;
}

}  // namespace

Napi::Value RunnerWrap::Generate(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    std::vector<int32_t> prompt = arg_int32_array(info, 0, "prompt tokens");
    const tang::SamplingParams p = sampling_params(arg_object(info, 1, "sampling options"));
    use(env);
    Ptr r = runner_;
    return run_exclusive<std::vector<int32_t>>(
        env, busy_, [r, prompt, p] { return r->generate(prompt, p); },
        [](Napi::Env env, std::vector<int32_t> & v) -> Napi::Value { return to_js_tokens(env, v); });
}

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
    use(env);
    Ptr r = runner_;
    using R = std::vector<std::vector<int32_t>>;
    return run_exclusive<R>(
        env, busy_, [r, prompts, p] { return r->generate_batch(prompts, p, nullptr); },
        [](Napi::Env env, R & v) -> Napi::Value {
            Napi::Array out = Napi::Array::New(env, v.size());
            for (size_t i = 0; i < v.size(); ++i) out.Set((uint32_t) i, to_js_tokens(env, v[i]));
            return out;
        });
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
