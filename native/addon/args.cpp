#include "args.h"

namespace tang_addon {

static Napi::Value arg(const Napi::CallbackInfo & info, size_t i) {
    return i < info.Length() ? info[i] : info.Env().Undefined();
}

std::string arg_string(const Napi::CallbackInfo & info, size_t i, const char * what) {
    Napi::Value v = arg(info, i);
    if (!v.IsString()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a string");
    return v.As<Napi::String>();
}

std::vector<int32_t> arg_int32_array(const Napi::CallbackInfo & info, size_t i, const char * what) {
    Napi::Value v = arg(info, i);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
        throw Napi::TypeError::New(info.Env(), std::string(what) + " must be an Int32Array");
    }
    Napi::Int32Array a = v.As<Napi::Int32Array>();
    return std::vector<int32_t>(a.Data(), a.Data() + a.ElementLength());
}

double arg_number(const Napi::CallbackInfo & info, size_t i, const char * what) {
    Napi::Value v = arg(info, i);
    if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a number");
    return v.As<Napi::Number>().DoubleValue();
}

Napi::Object arg_object(const Napi::CallbackInfo & info, size_t i, const char * what) {
    Napi::Value v = arg(info, i);
    if (!v.IsObject()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be an object");
    return v.As<Napi::Object>();
}

double opt_number(const Napi::Object & o, const char * key, double fallback) {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined()) return fallback;
    if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a number");
    return v.As<Napi::Number>().DoubleValue();
}

bool opt_bool(const Napi::Object & o, const char * key, bool fallback) {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined()) return fallback;
    if (!v.IsBoolean()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be true or false");
    return v.As<Napi::Boolean>();
}

std::vector<tang::AdapterRef> arg_adapters(const Napi::CallbackInfo & info, size_t i) {
    Napi::Env env = info.Env();
    Napi::Value list = info.Length() > i ? info[i] : env.Undefined();
    if (!list.IsArray()) throw Napi::TypeError::New(env, "adapters must be an array of { path, scale }");
    std::vector<tang::AdapterRef> adapters;
    Napi::Array arr = list.As<Napi::Array>();
    for (uint32_t k = 0; k < arr.Length(); ++k) {
        if (!arr.Get(k).IsObject()) throw Napi::TypeError::New(env, "adapters must be an array of { path, scale }");
        Napi::Object o = arr.Get(k).As<Napi::Object>();
        adapters.push_back({opt_string(o, "path", ""), (float) opt_number(o, "scale", 1.0)});
    }
    return adapters;
}

std::string opt_string(const Napi::Object & o, const char * key, const std::string & fallback) {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined()) return fallback;
    if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a string");
    return v.As<Napi::String>();
}

}  // namespace tang_addon
