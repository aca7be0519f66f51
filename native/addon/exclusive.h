// One call at a time per native object: a call while another runs is rejected with a clear
// error (the TypeScript wrappers queue their calls, so this guards direct binding users).
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>
#include <string>

#include "promise_worker.h"

namespace tang_addon {

using BusyFlag = std::shared_ptr<std::atomic<bool>>;

// Throws a JS error if the object is disposed or busy.
inline void check_usable(Napi::Env env, bool alive, const BusyFlag & busy, const char * what) {
    if (!alive) throw Napi::Error::New(env, std::string("this ") + what + " was disposed");
    if (busy->load()) throw Napi::Error::New(env, std::string("this ") + what + " is busy with another call; await it first");
}

// Marks the object busy, runs `work` off the JS thread, clears the mark when the work ends.
template <typename R, typename Work, typename ToJs>
Napi::Promise run_exclusive(Napi::Env env, const BusyFlag & busy, Work work, ToJs to_js) {
    busy->store(true);
    return PromiseWorker<R>::Start(
        env,
        [work, busy]() mutable -> R {
            struct Release {
                BusyFlag b;
                ~Release() { b->store(false); }
            } release{busy};
            return work();
        },
        to_js);
}

}  // namespace tang_addon
