// Runner: the JS object over one tang::LlamaRunner (libllama inference with adapters).
// Created by openRunner(); tokenize/detokenize are quick and synchronous, logits and
// generation (sampling with Hugging Face semantics) return Promises; dispose() frees the model, later calls throw.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>

#include "llama_runner.h"

namespace tang_addon {

class RunnerWrap : public Napi::ObjectWrap<RunnerWrap> {
  public:
    static void Register(Napi::Env env, Napi::Object exports);
    explicit RunnerWrap(const Napi::CallbackInfo & info);

  private:
    static Napi::Value Open(const Napi::CallbackInfo & info);  // openRunner(model, adapters, options)

    Napi::Value Tokenize(const Napi::CallbackInfo & info);
    Napi::Value Detokenize(const Napi::CallbackInfo & info);
    Napi::Value Logits(const Napi::CallbackInfo & info);
    Napi::Value GenerateBatch(const Napi::CallbackInfo & info);  // (prompts, options, onEvent?)
    Napi::Value Cancel(const Napi::CallbackInfo & info);
    Napi::Value ChatPrompt(const Napi::CallbackInfo & info);     // (system, user) with the model's template         // the running generateBatch throws
    Napi::Value Info(const Napi::CallbackInfo & info);
    Napi::Value Dispose(const Napi::CallbackInfo & info);

    tang::LlamaRunner & use(Napi::Env env);  // throws if disposed or busy

    std::shared_ptr<tang::LlamaRunner> runner_;
    std::shared_ptr<std::atomic<bool>> busy_ = std::make_shared<std::atomic<bool>>(false);
    std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace tang_addon
