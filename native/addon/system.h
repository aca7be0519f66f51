// Free functions of the binding: info() and inspect(path).
#pragma once

#include <napi.h>

namespace tang_addon {

Napi::Value Info(const Napi::CallbackInfo & info);     // () => Promise<SystemInfo>
Napi::Value Inspect(const Napi::CallbackInfo & info);  // (path: string) => Promise<GgufSummary>

}  // namespace tang_addon
