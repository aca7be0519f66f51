// Free functions of the binding: info(), inspect(path), createModel(spec, path, vocab),
// quantize(in, out, type).
#pragma once

#include <napi.h>

namespace tang_addon {

Napi::Value Info(const Napi::CallbackInfo & info);     // () => Promise<SystemInfo>
Napi::Value Inspect(const Napi::CallbackInfo & info);  // (path: string) => Promise<GgufSummary>
Napi::Value CreateModel(const Napi::CallbackInfo & info);  // (spec, path, vocab) => Promise<CreatedModel>
Napi::Value Quantize(const Napi::CallbackInfo & info);     // (in, out, type) => Promise<void>
Napi::Value Merge(const Napi::CallbackInfo & info);        // (base, adapters, out) => Promise<void>

}  // namespace tang_addon
