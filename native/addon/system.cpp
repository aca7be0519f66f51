#include "system.h"

#include "args.h"
#include "gguf_inspect.h"
#include "errors.h"
#include "llama_layout.h"
#include "merge.h"
#include "quantize.h"
#include "random_model.h"
#include "promise_worker.h"
#include "system_info.h"

namespace tang_addon {

static Napi::Array strings(Napi::Env env, const std::vector<std::string> & v) {
    Napi::Array a = Napi::Array::New(env, v.size());
    for (size_t i = 0; i < v.size(); ++i) a.Set(i, v[i]);
    return a;
}

Napi::Value Info(const Napi::CallbackInfo & info) {
    return PromiseWorker<tang::SystemInfo>::Start(
        info.Env(), [] { return tang::system_info(); },
        [](Napi::Env env, tang::SystemInfo & s) -> Napi::Value {
            Napi::Object o = Napi::Object::New(env);
            o.Set("llamaCppCommit", s.llama_cpp_commit);
            o.Set("backends", strings(env, s.backends));
            Napi::Array devices = Napi::Array::New(env, s.devices.size());
            for (size_t i = 0; i < s.devices.size(); ++i) {
                const tang::DeviceInfo & d = s.devices[i];
                Napi::Object dev = Napi::Object::New(env);
                dev.Set("name", d.name);
                dev.Set("description", d.description);
                dev.Set("type", d.type);
                dev.Set("backend", d.backend);
                dev.Set("memoryFree", (double) d.memory_free);
                dev.Set("memoryTotal", (double) d.memory_total);
                devices.Set(i, dev);
            }
            o.Set("devices", devices);
            Napi::Object cpu = Napi::Object::New(env);
            cpu.Set("isa", strings(env, s.cpu_isa));
            cpu.Set("extraBufferTypes", strings(env, s.cpu_extra_buffer_types));
            cpu.Set("amx", s.amx);
            o.Set("cpu", cpu);
            return o;
        });
}

Napi::Value Inspect(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) {
        throw Napi::TypeError::New(env, "inspect(path): path must be a string");
    }
    const std::string path = info[0].As<Napi::String>();
    return PromiseWorker<tang::GgufSummary>::Start(
        env, [path] { return tang::inspect_gguf(path); },
        [](Napi::Env env, tang::GgufSummary & s) -> Napi::Value {
            Napi::Object o = Napi::Object::New(env);
            o.Set("path", s.path);
            o.Set("fileSize", (double) s.file_size);
            o.Set("version", s.version);
            o.Set("type", s.general_type);
            o.Set("architecture", s.architecture);
            o.Set("name", s.name);
            o.Set("nLayer", (double) s.n_layer);
            o.Set("nEmbd", (double) s.n_embd);
            o.Set("nFf", (double) s.n_ff);
            o.Set("nHead", (double) s.n_head);
            o.Set("nHeadKv", (double) s.n_head_kv);
            o.Set("nCtxTrain", (double) s.n_ctx_train);
            o.Set("nVocab", (double) s.n_vocab);
            o.Set("nKv", (double) s.n_kv);
            o.Set("nTensors", (double) s.n_tensors);
            o.Set("nParams", (double) s.n_params);
            Napi::Object types = Napi::Object::New(env);
            for (const auto & [name, count] : s.tensor_types) types.Set(name, (double) count);
            o.Set("tensorTypes", types);
            return o;
        });
}

Napi::Value CreateModel(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    Napi::Object o = arg_object(info, 0, "model spec");
    const std::string path = arg_string(info, 1, "output path");
    tang::RandomModelSpec s;
    s.arch = opt_string(o, "arch", s.arch);
    s.n_layer = (int64_t) opt_number(o, "nLayer", (double) s.n_layer);
    s.n_embd = (int64_t) opt_number(o, "nEmbd", (double) s.n_embd);
    s.n_ff = (int64_t) opt_number(o, "nFf", (double) s.n_ff);
    s.n_head = (int64_t) opt_number(o, "nHead", (double) s.n_head);
    s.n_head_kv = (int64_t) opt_number(o, "nHeadKv", (double) s.n_head_kv);
    s.n_ctx = (int64_t) opt_number(o, "nCtx", (double) s.n_ctx);
    s.rope_base = (float) opt_number(o, "ropeBase", s.rope_base);
    s.eps = (float) opt_number(o, "eps", s.eps);
    s.seed = (uint64_t) opt_number(o, "seed", 0);
    s.output_scale = (float) opt_number(o, "outputScale", 1.0);
    s.chat_template = opt_string(o, "chatTemplate", "");
    s.vocab_path = arg_string(info, 2, "vocabulary GGUF path");
    const std::string type = opt_string(o, "type", "f32");
    if (!tang::parse_weight_type(type, s.type)) {
        throw Napi::Error::New(env, "unknown weight type '" + type + "' (f32 f16 bf16 q8_0 q4_0 q4_1 q4_K q5_K q6_K)");
    }
    return PromiseWorker<tang::RandomModelResult>::Start(
        env, [s, path] { return tang::write_random_model(s, path); },
        [](Napi::Env env, tang::RandomModelResult & r) -> Napi::Value {
            Napi::Object out = Napi::Object::New(env);
            out.Set("nVocab", (double) r.n_vocab);
            out.Set("nParams", (double) r.n_params);
            out.Set("fileSize", (double) r.file_size);
            return out;
        });
}

Napi::Value Quantize(const Napi::CallbackInfo & info) {
    const std::string in = arg_string(info, 0, "input model path");
    const std::string out = arg_string(info, 1, "output path");
    const std::string type = arg_string(info, 2, "quantization type");
    return start_void(info.Env(), [=] { tang::quantize_model(in, out, type, 0); });
}

Napi::Value Merge(const Napi::CallbackInfo & info) {
    const std::string base = arg_string(info, 0, "base model path");
    const std::vector<tang::AdapterRef> adapters = arg_adapters(info, 1);
    const std::string out = arg_string(info, 2, "output path");
    return start_void(info.Env(), [=] { tang::merge_adapters(base, adapters, out); });
}

}  // namespace tang_addon
