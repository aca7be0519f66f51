// Registration of the tang_lora binding: every function and class the addon exports.
// lib/native/binding.ts types exactly this surface.
#include <napi.h>

#include "runner_wrap.h"
#include "system.h"
#include "system_info.h"
#include "trainer_wrap.h"

namespace tang_addon {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
    exports.Set("info", Napi::Function::New(env, Info, "info"));
    exports.Set("inspect", Napi::Function::New(env, Inspect, "inspect"));
    exports.Set("createModel", Napi::Function::New(env, CreateModel, "createModel"));
    exports.Set("quantize", Napi::Function::New(env, Quantize, "quantize"));
    exports.Set("mergeAdapters", Napi::Function::New(env, Merge, "mergeAdapters"));
    TrainerWrap::Register(env, exports);
    RunnerWrap::Register(env, exports);
    Napi::Object build = Napi::Object::New(env);
    build.Set("napiVersion", NAPI_VERSION);
    build.Set("cpuIsa", tang::kCompiledCpuIsa);
#ifdef TANG_LORA_CUDA
    build.Set("cuda", true);
#else
    build.Set("cuda", false);
#endif
    exports.Set("build", build);
    return exports;
}

}  // namespace tang_addon

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return tang_addon::Init(env, exports); }

NODE_API_MODULE(tang_lora, InitModule)
