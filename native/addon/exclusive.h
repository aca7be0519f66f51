// The life of a native object behind a JS wrapper: created off the JS thread by a factory
// (openTrainer, openRunner), one call at a time (a call while another runs is rejected with a
// clear error; the TypeScript wrappers queue their calls, so this guards direct binding users),
// and released off the JS thread by dispose().
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>
#include <string>

#include "promise_worker.h"

namespace tang_addon {

using BusyFlag = std::shared_ptr<std::atomic<bool>>;

// Throws a JS error if the object is disposed or (unless busy is null) busy.
inline void check_usable(Napi::Env env, bool alive, const BusyFlag & busy, const char * what) {
    if (!alive) throw Napi::Error::New(env, std::string("this ") + what + " was disposed");
    if (busy && busy->load()) throw Napi::Error::New(env, std::string("this ") + what + " is busy with another call; await it first");
}

// Runs a quick native call on the JS thread; a C++ exception becomes a JS Error.
template <typename F>
auto on_js_thread(Napi::Env env, F f) -> decltype(f()) {
    try {
        return f();
    } catch (const Napi::Error &) {
        throw;
    } catch (const std::exception & e) {
        throw Napi::Error::New(env, e.what());
    }
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

// The same for work without a result: the Promise resolves to undefined.
template <typename Work>
Napi::Promise run_exclusive(Napi::Env env, const BusyFlag & busy, Work work) {
    return run_exclusive<bool>(env, busy, returning_true(work), resolve_undefined);
}

// Makes the native object off the JS thread, then its wrapper: `ctor` receives an External
// holding the shared_ptr, which the wrapper's constructor takes with unwrap().
template <typename T, typename Make>
Napi::Promise open_wrapped(Napi::Env env, Napi::FunctionReference * ctor, Make make) {
    using Ptr = std::shared_ptr<T>;
    return PromiseWorker<Ptr>::Start(env, make, [ctor](Napi::Env env, Ptr & p) -> Napi::Value {
        Ptr copy = p;
        return ctor->New({Napi::External<Ptr>::New(env, &copy)});
    });
}

template <typename T>
std::shared_ptr<T> unwrap(const Napi::CallbackInfo & info, const char * factory) {
    if (info.Length() != 1 || !info[0].IsExternal()) {
        throw Napi::TypeError::New(info.Env(), std::string("use ") + factory + "() to create this object");
    }
    return *info[0].As<Napi::External<std::shared_ptr<T>>>().Data();
}

// Frees the native object off the JS thread (releasing a model's memory takes a while).
template <typename T>
Napi::Promise dispose_wrapped(Napi::Env env, std::shared_ptr<T> p) {
    return start_void(env, [p]() mutable { p.reset(); });
}

}  // namespace tang_addon
