#include "merge.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>

#include "atomic_file.h"
#include "errors.h"
#include "gguf_inspect.h"
#include "gguf_meta.h"

namespace tang {

namespace {

// One adapted weight's factors: A [in, r] and B [r, out] in ggml's dims, f32, and the scale.
struct Factors {
    const ggml_tensor * a;
    const ggml_tensor * b;
    float scale;
};

std::vector<float> as_f32(const ggml_tensor * t) {
    std::vector<float> v((size_t) ggml_nelements(t));
    if (t->type == GGML_TYPE_F32) std::copy((const float *) t->data, (const float *) t->data + v.size(), v.begin());
    else ggml_get_type_traits(t->type)->to_float(t->data, v.data(), (int64_t) v.size());
    return v;
}

// W [out][in] += scale * B [out][r] A [r][in], rows of W in ggml order (ne0 = in).
void add_product(std::vector<float> & w, int64_t in, int64_t out, const Factors & f) {
    const int64_t r = f.a->ne[1];
    const std::vector<float> a = as_f32(f.a), b = as_f32(f.b);
    for (int64_t o = 0; o < out; ++o) {
        float * row = w.data() + o * in;
        for (int64_t k = 0; k < r; ++k) {
            const float s = f.scale * b[(size_t) (o * r + k)];
            const float * ak = a.data() + k * in;
            for (int64_t i = 0; i < in; ++i) row[i] += s * ak[i];
        }
    }
}

}  // namespace

void merge_adapters(const std::string & base, const std::vector<AdapterRef> & adapters, const std::string & out) {
    const GgufSummary summary = inspect_gguf(base);
    require(summary.general_type.empty() || summary.general_type == "model", "'" + base + "' is not a model GGUF");
    ggml_context * meta_ctx = nullptr;
    gguf_context_ptr g(gguf_init_from_file(base.c_str(), {/*no_alloc =*/true, /*ctx =*/&meta_ctx}));
    ggml_context_ptr meta(meta_ctx);
    require(g != nullptr, "'" + base + "' is not a valid GGUF file");

    // every adapter's factor pairs, checked against the weights they change
    std::vector<LoadedGguf> files;
    std::map<std::string, std::vector<Factors>> by_weight;
    for (const AdapterRef & ad : adapters) {
        check_adapter(ad);
        files.push_back(read_gguf(ad.path, "adapter file"));
        const gguf_context * ag = files.back().gguf.get();
        require(meta_str(ag, "general.architecture") == summary.architecture,
                "'" + ad.path + "' is an adapter for a " + meta_str(ag, "general.architecture") + " model, '" + base + "' is " + summary.architecture);
        const float alpha = meta_f32(ag, "adapter.lora.alpha", 0.0f);
        for (int64_t i = 0; i < gguf_get_n_tensors(ag); ++i) {
            const std::string name = gguf_get_tensor_name(ag, i);
            if (name.size() < 7 || name.compare(name.size() - 7, 7, ".lora_a") != 0) continue;
            const std::string weight = name.substr(0, name.size() - 7);
            const ggml_tensor * a = ggml_get_tensor(files.back().ctx.get(), name.c_str());
            const ggml_tensor * b = ggml_get_tensor(files.back().ctx.get(), (weight + ".lora_b").c_str());
            const ggml_tensor * w = ggml_get_tensor(meta.get(), weight.c_str());
            require(b != nullptr, "'" + ad.path + "': " + name + " has no lora_b");
            require(w != nullptr, "'" + ad.path + "' adapts " + weight + ", which '" + base + "' does not hold");
            require(ggml_n_dims(w) == 2 && a->ne[0] == w->ne[0] && b->ne[1] == w->ne[1] && b->ne[0] == a->ne[1],
                    "'" + ad.path + "': the factors of " + weight + " do not fit its shape in '" + base + "' (an adapter for another base?)");
            require((ggml_get_type_traits(w->type)->from_float_ref != nullptr || w->type == GGML_TYPE_F32) && !ggml_quantize_requires_imatrix(w->type),
                    "'" + base + "': " + weight + " is " + ggml_type_name(w->type) + ", which cannot be quantized back");
            by_weight[weight].push_back({a, b, ad.scale * alpha / (float) a->ne[1]});
        }
    }
    require(!by_weight.empty(), "the adapters change no weight of '" + base + "'");

    // the same tensors, types and layout as the base: its metadata and offsets serve as they are
    std::vector<uint8_t> header(gguf_get_meta_size(g.get()));
    gguf_get_meta_data(g.get(), header.data());
    FILE * in = std::fopen(base.c_str(), "rb");
    require(in != nullptr, "cannot read '" + base + "'");
    std::unique_ptr<FILE, int (*)(FILE *)> closer(in, std::fclose);
    AtomicFile f(out);
    f.write(header.data(), header.size());
    const size_t data_start = gguf_get_data_offset(g.get());
    std::vector<uint8_t> bytes;
    for (int64_t i = 0; i < gguf_get_n_tensors(g.get()); ++i) {
        const char * name = gguf_get_tensor_name(g.get(), i);
        const ggml_tensor * w = ggml_get_tensor(meta.get(), name);
        bytes.resize(ggml_nbytes(w));
        const size_t at = data_start + gguf_get_tensor_offset(g.get(), i);
        require(std::fseek(in, (long) at, SEEK_SET) == 0 && std::fread(bytes.data(), 1, bytes.size(), in) == bytes.size(),
                "'" + base + "' ends inside tensor " + name);
        auto adapted = by_weight.find(name);
        if (adapted != by_weight.end()) {
            const int64_t n_in = w->ne[0], n_out = w->ne[1];
            std::vector<float> v((size_t) (n_in * n_out));
            if (w->type == GGML_TYPE_F32) std::copy((const float *) bytes.data(), (const float *) bytes.data() + v.size(), v.begin());
            else ggml_get_type_traits(w->type)->to_float(bytes.data(), v.data(), (int64_t) v.size());
            for (const Factors & fa : adapted->second) add_product(v, n_in, n_out, fa);
            ggml_quantize_chunk(w->type, v.data(), bytes.data(), 0, n_out, n_in, nullptr);
        }
        f.pad_to(data_start + gguf_get_tensor_offset(g.get(), i));  // the base's own data offset: the header is its header
        f.write(bytes.data(), bytes.size());
    }
    f.commit();
}

}  // namespace tang
