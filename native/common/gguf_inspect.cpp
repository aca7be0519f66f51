#include "gguf_inspect.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "adapter_ref.h"
#include "errors.h"
#include "gguf_meta.h"
#include "ggml.h"
#include "ggml-cpp.h"
#include "gguf.h"
#include "log.h"

namespace tang {

namespace {


// Checks the fixed header before handing the file to gguf: magic and a plausible size.
void check_header(const std::string & path, uint64_t size) {
    require(size > 0, "'" + path + "' is empty, not a GGUF file");
    // magic (4) + version (4) + tensor count (8) + kv count (8)
    require(size >= 24, "'" + path + "' is too short to be a GGUF file (" + std::to_string(size) + " bytes)");
    char magic[4] = {};
    std::unique_ptr<FILE, int (*)(FILE *)> f(std::fopen(path.c_str(), "rb"), std::fclose);
    require(f != nullptr, "cannot open '" + path + "': " + std::strerror(errno));
    require(std::fread(magic, 1, 4, f.get()) == 4 && std::memcmp(magic, "GGUF", 4) == 0,
            "'" + path + "' is not a GGUF file (bad magic)");
}

}  // namespace

GgufSummary inspect_gguf(const std::string & path, const std::string & what) {
    log_init();
    namespace fs = std::filesystem;
    std::error_code ec;
    const auto status = fs::status(path, ec);
    require(!ec && fs::exists(status), what + " '" + path + "' does not exist");
    require(fs::is_regular_file(status), "'" + path + "' is not a regular file");

    GgufSummary s;
    s.path = path;
    s.file_size = fs::file_size(path, ec);
    require(!ec, "cannot read the size of '" + path + "'");
    check_header(path, s.file_size);

    clear_log_error();
    gguf_init_params params = {/*no_alloc =*/true, /*ctx =*/nullptr};
    gguf_context_ptr ctx(gguf_init_from_file(path.c_str(), params));
    if (!ctx) {
        const std::string why = last_log_error();
        throw Error("'" + path + "' is not a valid GGUF file" + (why.empty() ? "" : ": " + why));
    }

    s.version = gguf_get_version(ctx.get());
    s.n_kv = gguf_get_n_kv(ctx.get());
    s.n_tensors = gguf_get_n_tensors(ctx.get());
    s.general_type = meta_str(ctx.get(), "general.type");
    s.architecture = meta_str(ctx.get(), "general.architecture");
    s.name = meta_str(ctx.get(), "general.name");

    // Every tensor's data must lie inside the file: catches truncated downloads.
    const uint64_t data_offset = gguf_get_data_offset(ctx.get());
    uint64_t data_end = data_offset;
    for (int64_t i = 0; i < s.n_tensors; ++i) {
        const uint64_t end = data_offset + gguf_get_tensor_offset(ctx.get(), i) + gguf_get_tensor_size(ctx.get(), i);
        data_end = std::max(data_end, end);
        const int64_t * ne = gguf_get_tensor_ne(ctx.get(), i);
        uint64_t n = 1;
        for (int d = 0; d < GGML_MAX_DIMS; ++d) n *= (uint64_t) ne[d];
        s.n_params += n;
        s.tensor_types[ggml_type_name(gguf_get_tensor_type(ctx.get(), i))] += 1;
    }
    require(data_end <= s.file_size, "'" + path + "' is truncated: its tensors need " + std::to_string(data_end) +
                                         " bytes, the file has " + std::to_string(s.file_size));

    const std::string a = s.architecture;
    if (!a.empty()) {
        s.n_layer = meta_int(ctx.get(), a + ".block_count").value_or(-1);
        s.n_embd = meta_int(ctx.get(), a + ".embedding_length").value_or(-1);
        s.n_ff = meta_int(ctx.get(), a + ".feed_forward_length").value_or(-1);
        s.n_head = meta_int(ctx.get(), a + ".attention.head_count").value_or(-1);
        s.n_head_kv = meta_int(ctx.get(), a + ".attention.head_count_kv").value_or(-1);
        if (s.n_head_kv < 0) s.n_head_kv = s.n_head;
        s.n_ctx_train = meta_int(ctx.get(), a + ".context_length").value_or(-1);
    }
    const int64_t tok = gguf_find_key(ctx.get(), "tokenizer.ggml.tokens");
    if (tok >= 0 && gguf_get_kv_type(ctx.get(), tok) == GGUF_TYPE_ARRAY) {
        s.n_vocab = (int64_t) gguf_get_arr_n(ctx.get(), tok);
    } else {
        const int64_t emb = gguf_find_tensor(ctx.get(), "token_embd.weight");
        if (emb >= 0) s.n_vocab = gguf_get_tensor_ne(ctx.get(), emb)[1];
    }
    return s;
}

LoadedGguf read_gguf(const std::string & path, const std::string & what) {
    inspect_gguf(path, what);  // existence, magic, truncation: clear errors first
    ggml_context * data = nullptr;
    gguf_init_params p = {/*no_alloc =*/false, /*ctx =*/&data};
    LoadedGguf r;
    r.gguf.reset(gguf_init_from_file(path.c_str(), p));
    r.ctx.reset(data);
    require(r.gguf != nullptr, "'" + path + "' is not a valid GGUF file");
    return r;
}

void check_adapter(const AdapterRef & a) {
    check_lora_file(a.path);
    constexpr float kMaxScale = 100.0f;
    require(std::isfinite(a.scale) && std::fabs(a.scale) <= kMaxScale,
            "adapter scale must be a number from -100 to 100, got " + std::to_string(a.scale) + " for '" + a.path + "'");
}

void check_lora_file(const std::string & path) {
    LoadedGguf f = read_gguf(path, "adapter file");
    const gguf_context * g = f.gguf.get();
    require(meta_str(g, "general.type") == "adapter" && meta_str(g, "adapter.type") == "lora",
            "'" + path + "' is not a LoRA adapter GGUF");
    const float alpha = meta_f32(g, "adapter.lora.alpha", 0.0f);
    require(std::isfinite(alpha), "'" + path + "': adapter.lora.alpha is not a finite number");
    require(gguf_get_n_tensors(g) > 0, "'" + path + "' holds no LoRA tensors");
    std::vector<float> row;
    for (int64_t i = 0; i < gguf_get_n_tensors(g); ++i) {
        const ggml_tensor * t = ggml_get_tensor(f.ctx.get(), gguf_get_tensor_name(g, i));
        const auto * traits = ggml_get_type_traits(t->type);
        require(traits->to_float != nullptr || t->type == GGML_TYPE_F32,
                "'" + path + "': tensor " + t->name + " has type " + ggml_type_name(t->type) + ", not a weight type");
        row.resize((size_t) t->ne[0]);
        bool finite = true;
        for (int64_t r = 0; r < ggml_nrows(t) && finite; ++r) {
            const char * src = (const char *) t->data + r * t->nb[1];
            if (t->type == GGML_TYPE_F32) std::memcpy(row.data(), src, row.size() * sizeof(float));
            else traits->to_float(src, row.data(), t->ne[0]);
            for (float v : row) finite = finite && std::isfinite(v);
        }
        require(finite, "'" + path + "': tensor " + t->name + " holds a non-finite value");
    }
}

}  // namespace tang
