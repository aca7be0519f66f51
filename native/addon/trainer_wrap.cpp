#include "trainer_wrap.h"

#include <algorithm>
#include <cmath>

#include "args.h"
#include "errors.h"
#include "promise_worker.h"

namespace tang_addon {

namespace {

Napi::FunctionReference * g_constructor = nullptr;

tang::LoraConfig lora_config(const Napi::Object & o) {
    tang::LoraConfig c;
    const double rank = opt_number(o, "rank", 8);
    if (!(rank >= 1 && rank <= 4096 && std::floor(rank) == rank)) {
        throw Napi::Error::New(o.Env(), "LoRA rank must be an integer from 1 to 4096, got " + std::to_string(rank));
    }
    c.rank = (int64_t) rank;
    c.alpha = (float) opt_number(o, "alpha", 16);
    c.dropout = (float) opt_number(o, "dropout", 0.05);
    c.seed = (uint64_t) opt_number(o, "seed", 42);
    Napi::Value t = o.Get("targets");
    if (!t.IsUndefined()) {
        if (!t.IsArray()) throw Napi::TypeError::New(o.Env(), "targets must be an array of module names");
        Napi::Array a = t.As<Napi::Array>();
        c.targets.clear();
        for (uint32_t i = 0; i < a.Length(); ++i) {
            Napi::Value v = a.Get(i);
            tang::Module m;
            if (!v.IsString() || !tang::module_from_name(v.As<Napi::String>(), m)) {
                throw Napi::Error::New(o.Env(), "unknown LoRA target module '" + v.ToString().Utf8Value() +
                                                    "' (q_proj k_proj v_proj o_proj gate_proj up_proj down_proj)");
            }
            c.targets.push_back(m);
        }
    }
    return c;
}

struct BatchArgs {
    int64_t rows;
    std::vector<int32_t> tokens, labels, segments;
};

// (rows, tokens, labels, segments) starting at argument `at`
BatchArgs batch_args(const Napi::CallbackInfo & info, size_t at) {
    const double rows = arg_number(info, at, "rows");
    return {(int64_t) rows, arg_int32_array(info, at + 1, "tokens"), arg_int32_array(info, at + 2, "labels"),
            arg_int32_array(info, at + 3, "segments")};
}

// countTargets(rows, labels, segments): the positions the loss scores (the engine's rule).
Napi::Value CountTargets(const Napi::CallbackInfo & info) {
    const double rows = arg_number(info, 0, "rows");
    const std::vector<int32_t> labels = arg_int32_array(info, 1, "labels");
    const std::vector<int32_t> segments = arg_int32_array(info, 2, "segments");
    const int64_t n = on_js_thread(info.Env(), [&] { return tang::count_targets((int64_t) rows, labels, segments); });
    return Napi::Number::New(info.Env(), (double) n);
}

Napi::Value stats_to_js(Napi::Env env, const tang::MicroBatchResult & r) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("loss", r.loss);
    o.Set("targets", (double) r.n_targets);
    o.Set("tokens", (double) r.n_tokens);
    o.Set("cpuNodes", r.n_cpu_nodes);
    o.Set("computeBytes", (double) r.compute_bytes);
    o.Set("graphs", r.n_graphs);
    o.Set("graphsReused", r.n_reused);
    o.Set("hostMs", r.host_ms);
    return o;
}

}  // namespace

void TrainerWrap::Register(Napi::Env env, Napi::Object exports) {
    Napi::Function cls = DefineClass(env, "Trainer",
                                     {InstanceMethod("trainMicroBatch", &TrainerWrap::TrainMicroBatch),
                                      InstanceMethod("evalLoss", &TrainerWrap::EvalLoss),
                                      InstanceMethod("logits", &TrainerWrap::Logits),
                                      InstanceMethod("optimizerStep", &TrainerWrap::OptimizerStep),
                                      InstanceMethod("measureMemory", &TrainerWrap::MeasureMemory),
                                      InstanceMethod("setKeptBlocks", &TrainerWrap::SetKeptBlocks),
                                      InstanceMethod("useBf16Weights", &TrainerWrap::UseBf16Weights),
                                      InstanceMethod("saveAdapter", &TrainerWrap::SaveAdapter),
                                      InstanceMethod("loadAdapter", &TrainerWrap::LoadAdapter),
                                      InstanceMethod("checkAdapter", &TrainerWrap::CheckAdapter),
                                      InstanceMethod("saveState", &TrainerWrap::SaveState),
                                      InstanceMethod("loadState", &TrainerWrap::LoadState),
                                      InstanceMethod("readTensor", &TrainerWrap::ReadTensor),
                                      InstanceMethod("info", &TrainerWrap::Info),
                                      InstanceMethod("dispose", &TrainerWrap::Dispose)});
    g_constructor = new Napi::FunctionReference(Napi::Persistent(cls));
    exports.Set("openTrainer", Napi::Function::New(env, &TrainerWrap::Open, "openTrainer"));
    exports.Set("countTargets", Napi::Function::New(env, CountTargets, "countTargets"));
}

TrainerWrap::TrainerWrap(const Napi::CallbackInfo & info)
    : Napi::ObjectWrap<TrainerWrap>(info), trainer_(unwrap<tang::Trainer>(info, "openTrainer")) {}

Napi::Value TrainerWrap::Open(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    const std::string model = arg_string(info, 0, "model path");
    const tang::LoraConfig cfg = lora_config(arg_object(info, 1, "LoRA config"));
    Napi::Object o = arg_object(info, 2, "options");
    tang::TrainerOptions opt;
    opt.device = opt_string(o, "device", "auto");
    opt.n_threads = (int) opt_number(o, "threads", 0);
    opt.checkpointing = opt_bool(o, "checkpointing", true);
    const double keep = opt_number(o, "keepBlocks", 0);
    if (keep != std::floor(keep)) throw Napi::TypeError::New(env, "keepBlocks must be a whole number >= 0");
    opt.keep_blocks = (int64_t) keep;
    return open_wrapped<tang::Trainer>(env, g_constructor, [=] { return std::make_shared<tang::Trainer>(model, cfg, opt); });
}

tang::Trainer & TrainerWrap::use(Napi::Env env) {
    check_usable(env, trainer_ != nullptr, busy_, "Trainer");
    return *trainer_;
}

Napi::Value TrainerWrap::TrainMicroBatch(const Napi::CallbackInfo & info) {
    BatchArgs a = batch_args(info, 0);
    const float scale = (float) arg_number(info, 4, "loss scale");
    auto t = trainer_;
    return run<tang::MicroBatchResult>(
        info.Env(),
        [t, a, scale]() mutable {
            tang::MicroBatch b = tang::make_micro_batch(a.rows, std::move(a.tokens), std::move(a.labels),
                                                        std::move(a.segments), t->model().hp.n_vocab);
            return t->train_micro_batch(b, scale);
        },
        stats_to_js);
}

Napi::Value TrainerWrap::EvalLoss(const Napi::CallbackInfo & info) {
    BatchArgs a = batch_args(info, 0);
    auto t = trainer_;
    return run<tang::MicroBatchResult>(
        info.Env(),
        [t, a]() mutable {
            tang::MicroBatch b = tang::make_micro_batch(a.rows, std::move(a.tokens), std::move(a.labels),
                                                        std::move(a.segments), t->model().hp.n_vocab);
            return t->eval_loss(b);
        },
        stats_to_js);
}

Napi::Value TrainerWrap::Logits(const Napi::CallbackInfo & info) {
    const double rows = arg_number(info, 0, "rows");
    std::vector<int32_t> tokens = arg_int32_array(info, 1, "tokens");
    std::vector<int32_t> segments = arg_int32_array(info, 2, "segments");
    auto t = trainer_;
    using R = std::pair<int64_t, std::vector<float>>;
    return run<R>(
        info.Env(),
        [t, rows, tokens, segments]() mutable {
            std::vector<int32_t> labels(tokens.size(), -100);
            tang::MicroBatch b = tang::make_micro_batch((int64_t) rows, std::move(tokens), std::move(labels),
                                                        std::move(segments), t->model().hp.n_vocab);
            R r;
            r.second = t->logits(b, r.first);
            return r;
        },
        [](Napi::Env env, R & r) -> Napi::Value {
            Napi::Object o = Napi::Object::New(env);
            o.Set("nVocab", (double) r.first);
            Napi::Float32Array data = Napi::Float32Array::New(env, r.second.size());
            std::copy(r.second.begin(), r.second.end(), data.Data());
            o.Set("data", data);
            return o;
        });
}

Napi::Value TrainerWrap::OptimizerStep(const Napi::CallbackInfo & info) {
    Napi::Object o = arg_object(info, 0, "optimizer settings");
    tang::AdamWParams p;
    p.lr = (float) opt_number(o, "lr", p.lr);
    p.beta1 = (float) opt_number(o, "beta1", p.beta1);
    p.beta2 = (float) opt_number(o, "beta2", p.beta2);
    p.eps = (float) opt_number(o, "eps", p.eps);
    p.weight_decay = (float) opt_number(o, "weightDecay", p.weight_decay);
    p.max_grad_norm = (float) opt_number(o, "maxGradNorm", p.max_grad_norm);
    auto t = trainer_;
    return run<tang::StepResult>(
        info.Env(), [t, p] { return t->optimizer_step(p); },
        [](Napi::Env env, tang::StepResult & r) -> Napi::Value {
            Napi::Object out = Napi::Object::New(env);
            out.Set("gradNorm", r.grad_norm);
            out.Set("step", (double) r.step);
            return out;
        });
}

Napi::Value TrainerWrap::MeasureMemory(const Napi::CallbackInfo & info) {
    const double rows = arg_number(info, 0, "rows"), len = arg_number(info, 1, "row length");
    if (rows != std::floor(rows) || len != std::floor(len)) throw Napi::TypeError::New(info.Env(), "rows and row length must be whole numbers");
    auto t = trainer_;
    return run<tang::MemoryNeeds>(
        info.Env(), [t, rows, len] { return t->measure_memory((int64_t) rows, (int64_t) len); },
        [](Napi::Env env, tang::MemoryNeeds & m) -> Napi::Value {
            Napi::Object out = Napi::Object::New(env);
            out.Set("freeBytes", (double) m.free_bytes);
            out.Set("totalBytes", (double) m.total_bytes);
            out.Set("heldBytes", (double) m.held_bytes);
            out.Set("slotBytes", (double) m.slot_bytes);
            out.Set("headBytes", (double) m.head_bytes);
            out.Set("layerBytes", (double) m.layer_bytes);
            out.Set("blockBytes", (double) m.block_bytes);
            out.Set("sharedBuffers", m.shared_buffers);
            out.Set("bf16ExtraBytes", (double) m.bf16_extra_bytes);
            out.Set("bf16SourceBytes", (double) m.bf16_source_bytes);
            out.Set("scratchBytes", (double) m.scratch_bytes);
            out.Set("stepBytes", (double) m.step_bytes);
            out.Set("nBlocks", (double) m.n_blocks);
            return out;
        });
}

Napi::Value TrainerWrap::SetKeptBlocks(const Napi::CallbackInfo & info) {
    const double keep = arg_number(info, 0, "kept blocks");
    if (keep != std::floor(keep) || keep < 0) throw Napi::TypeError::New(info.Env(), "kept blocks must be a whole number >= 0");
    use(info.Env()).set_kept_blocks((int64_t) keep);
    return info.Env().Undefined();
}

Napi::Value TrainerWrap::UseBf16Weights(const Napi::CallbackInfo & info) {
    auto t = trainer_;
    return run<bool>(
        info.Env(), [t] { t->use_bf16_weights(); return true; },
        [](Napi::Env env, bool &) -> Napi::Value { return env.Undefined(); });
}

#define TANG_FILE_METHOD(Name, call)                                                     \
    Napi::Value TrainerWrap::Name(const Napi::CallbackInfo & info) {                     \
        const std::string path = arg_string(info, 0, "path");                            \
        use(info.Env());                                                                 \
        auto t = trainer_;                                                               \
        return run_exclusive(info.Env(), busy_, [t, path] { t->call(path); });           \
    }
TANG_FILE_METHOD(SaveAdapter, save_adapter)
TANG_FILE_METHOD(LoadAdapter, load_adapter)
TANG_FILE_METHOD(CheckAdapter, check_adapter)
TANG_FILE_METHOD(SaveState, save_state)
TANG_FILE_METHOD(LoadState, load_state)
#undef TANG_FILE_METHOD

Napi::Value TrainerWrap::ReadTensor(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    const std::string name = arg_string(info, 0, "tensor name");
    tang::Trainer & t = use(env);
    std::vector<float> v = on_js_thread(env, [&] { return tang::LoraAdapter::read(t.lora().tensor(name)); });
    Napi::Float32Array out = Napi::Float32Array::New(env, v.size());
    std::copy(v.begin(), v.end(), out.Data());
    return out;
}

Napi::Value TrainerWrap::Info(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    tang::Trainer & t = use(env);
    const tang::Hparams & hp = t.model().hp;
    Napi::Object o = Napi::Object::New(env);
    o.Set("device", t.device_name());
    o.Set("step", (double) t.step());
    o.Set("loraParams", (double) t.lora().n_params());
    o.Set("weightBytes", (double) t.model().weight_bytes());
    o.Set("peakComputeBytes", (double) t.peak_compute_bytes());
    o.Set("keptBlocks", (double) t.kept_blocks());
    o.Set("bf16Weights", t.bf16_weights());
    Napi::Object h = Napi::Object::New(env);
    h.Set("arch", hp.arch);
    h.Set("nLayer", (double) hp.n_layer);
    h.Set("nEmbd", (double) hp.n_embd);
    h.Set("nFf", (double) hp.n_ff);
    h.Set("nHead", (double) hp.n_head);
    h.Set("nHeadKv", (double) hp.n_head_kv);
    h.Set("nVocab", (double) hp.n_vocab);
    o.Set("hparams", h);
    Napi::Array names = Napi::Array::New(env);
    uint32_t k = 0;
    for (const tang::LoraPair & lp : t.lora().pairs) {
        names.Set(k++, std::string(lp.a->name));
        names.Set(k++, std::string(lp.b->name));
    }
    o.Set("loraTensors", names);
    return o;
}

Napi::Value TrainerWrap::Dispose(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    use(env);
    return dispose_wrapped(env, std::move(trainer_));  // later calls see a disposed trainer at once
}

}  // namespace tang_addon
