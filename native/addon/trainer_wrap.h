// Trainer: the JS object over one tang::Trainer. Created by openTrainer(); every slow call
// returns a Promise and runs off the JS thread; one call at a time (a second one while the
// first runs is rejected); dispose() frees the model and adapter, later calls throw.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>

#include "exclusive.h"
#include "trainer.h"

namespace tang_addon {

class TrainerWrap : public Napi::ObjectWrap<TrainerWrap> {
  public:
    static void Register(Napi::Env env, Napi::Object exports);
    explicit TrainerWrap(const Napi::CallbackInfo & info);

  private:
    static Napi::Value Open(const Napi::CallbackInfo & info);  // openTrainer(model, lora, options)

    Napi::Value TrainMicroBatch(const Napi::CallbackInfo & info);
    Napi::Value EvalLoss(const Napi::CallbackInfo & info);
    Napi::Value Logits(const Napi::CallbackInfo & info);
    Napi::Value OptimizerStep(const Napi::CallbackInfo & info);
    Napi::Value MeasureMemory(const Napi::CallbackInfo & info);  // measureMemory(rows, len)
    Napi::Value SetKeptBlocks(const Napi::CallbackInfo & info);  // setKeptBlocks(n)
    Napi::Value UseBf16Weights(const Napi::CallbackInfo & info);  // useBf16Weights()
    Napi::Value SaveAdapter(const Napi::CallbackInfo & info);
    Napi::Value LoadAdapter(const Napi::CallbackInfo & info);
    Napi::Value CheckAdapter(const Napi::CallbackInfo & info);
    Napi::Value SaveState(const Napi::CallbackInfo & info);
    Napi::Value LoadState(const Napi::CallbackInfo & info);
    Napi::Value ReadTensor(const Napi::CallbackInfo & info);
    Napi::Value Info(const Napi::CallbackInfo & info);
    Napi::Value Dispose(const Napi::CallbackInfo & info);

    tang::Trainer & use(Napi::Env env);  // throws if disposed or busy
    template <typename R, typename Work, typename ToJs>
    Napi::Promise run(Napi::Env env, Work work, ToJs to_js) {
        use(env);
        return run_exclusive<R>(env, busy_, work, to_js);
    }

    std::shared_ptr<tang::Trainer> trainer_;
    BusyFlag busy_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace tang_addon
