// tang_probe.node: what the NVIDIA driver offers, asked without loading any CUDA binary, so the
// loader can pick a prebuilt variant (lib/native/variants.ts) before loading one. libcuda.so.1
// is opened at call time; a machine without it (or without a GPU) answers null.
//   cuda() -> { driverVersion: 13000, devices: [{ name, major, minor }] } | null
#include <dlfcn.h>
#include <napi.h>

namespace {

using CUresult = int;
using CUdevice = int;
constexpr int kMajor = 75;  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
constexpr int kMinor = 76;  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR

template <typename F> F sym(void * lib, const char * name) { return reinterpret_cast<F>(dlsym(lib, name)); }

Napi::Value Cuda(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    void * lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return env.Null();
    auto init = sym<CUresult (*)(unsigned)>(lib, "cuInit");
    auto version = sym<CUresult (*)(int *)>(lib, "cuDriverGetVersion");
    auto count = sym<CUresult (*)(int *)>(lib, "cuDeviceGetCount");
    auto get = sym<CUresult (*)(CUdevice *, int)>(lib, "cuDeviceGet");
    auto attr = sym<CUresult (*)(int *, int, CUdevice)>(lib, "cuDeviceGetAttribute");
    auto name = sym<CUresult (*)(char *, int, CUdevice)>(lib, "cuDeviceGetName");
    int v = 0, n = 0;
    if (!init || !version || !count || !get || !attr || !name || init(0) != 0 || version(&v) != 0 || count(&n) != 0) {
        dlclose(lib);
        return env.Null();
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("driverVersion", v);
    Napi::Array devices = Napi::Array::New(env);
    for (int i = 0; i < n; ++i) {
        CUdevice d = 0;
        int major = 0, minor = 0;
        char buf[256] = {0};
        if (get(&d, i) != 0 || attr(&major, kMajor, d) != 0 || attr(&minor, kMinor, d) != 0) continue;
        name(buf, sizeof buf - 1, d);
        Napi::Object dev = Napi::Object::New(env);
        dev.Set("name", buf);
        dev.Set("major", major);
        dev.Set("minor", minor);
        devices.Set(devices.Length(), dev);
    }
    out.Set("devices", devices);
    dlclose(lib);
    return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
    exports.Set("cuda", Napi::Function::New(env, Cuda, "cuda"));
    return exports;
}

}  // namespace

NODE_API_MODULE(tang_probe, Init)
