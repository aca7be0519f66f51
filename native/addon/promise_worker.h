// Runs a slow call on libuv's thread pool and settles a Promise with its result.
// Every C++ exception thrown by the work becomes a rejected JS Error with its message,
// so nothing native ever escapes into Node.
#pragma once

#include <napi.h>

#include <exception>
#include <functional>
#include <utility>

namespace tang_addon {

template <typename Result>
class PromiseWorker : public Napi::AsyncWorker {
  public:
    using Work = std::function<Result()>;                              // runs off the JS thread
    using ToJs = std::function<Napi::Value(Napi::Env, Result &)>;      // runs on the JS thread

    static Napi::Promise Start(Napi::Env env, Work work, ToJs to_js) {
        auto * w = new PromiseWorker(env, std::move(work), std::move(to_js));
        Napi::Promise promise = w->deferred_.Promise();
        w->Queue();  // libuv owns it now and deletes it after OnOK/OnError
        return promise;
    }

  private:
    PromiseWorker(Napi::Env env, Work work, ToJs to_js)
        : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)),
          work_(std::move(work)), to_js_(std::move(to_js)) {}

    void Execute() override {
        try {
            result_ = work_();
        } catch (const std::exception & e) {
            SetError(e.what());
        } catch (...) {
            SetError("unknown native error");
        }
    }

    void OnOK() override {
        Napi::Env env = Env();
        try {
            deferred_.Resolve(to_js_(env, result_));
        } catch (const Napi::Error & e) {
            deferred_.Reject(e.Value());
        }
    }

    void OnError(const Napi::Error & e) override { deferred_.Reject(e.Value()); }

    Napi::Promise::Deferred deferred_;
    Work work_;
    ToJs to_js_;
    Result result_{};
};

// For work without a result: it runs as a bool-returning job whose Promise resolves to undefined.
template <typename Work>
auto returning_true(Work work) {
    return [work]() mutable { work(); return true; };
}
inline Napi::Value resolve_undefined(Napi::Env env, bool &) { return env.Undefined(); }

template <typename Work>
Napi::Promise start_void(Napi::Env env, Work work) {
    return PromiseWorker<bool>::Start(env, returning_true(work), resolve_undefined);
}

}  // namespace tang_addon
