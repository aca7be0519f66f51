#include "quantize.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <unistd.h>

#include "errors.h"
#include "gguf_inspect.h"
#include "llama.h"
#include "log.h"

namespace tang {

namespace {

struct FileType {
    const char * name;
    llama_ftype ftype;
};

const FileType kTypes[] = {
    {"f32", LLAMA_FTYPE_ALL_F32},         {"f16", LLAMA_FTYPE_MOSTLY_F16},       {"bf16", LLAMA_FTYPE_MOSTLY_BF16},
    {"q8_0", LLAMA_FTYPE_MOSTLY_Q8_0},     {"q4_0", LLAMA_FTYPE_MOSTLY_Q4_0},     {"q4_1", LLAMA_FTYPE_MOSTLY_Q4_1},
    {"q4_k_s", LLAMA_FTYPE_MOSTLY_Q4_K_S}, {"q4_k_m", LLAMA_FTYPE_MOSTLY_Q4_K_M}, {"q5_k_m", LLAMA_FTYPE_MOSTLY_Q5_K_M},
    {"q6_k", LLAMA_FTYPE_MOSTLY_Q6_K},
};

}  // namespace

void quantize_model(const std::string & in, const std::string & out, const std::string & type, int n_threads) {
    log_init();
    std::string lower;
    for (char c : type) lower += (char) std::tolower((unsigned char) c);
    const FileType * ft = nullptr;
    for (const FileType & t : kTypes) if (lower == t.name) ft = &t;
    require(ft != nullptr, "unknown quantization type '" + type + "' (f32 f16 bf16 q8_0 q4_0 q4_1 q4_k_s q4_k_m q5_k_m q6_k)");
    const GgufSummary s = inspect_gguf(in);
    require(s.general_type.empty() || s.general_type == "model", "'" + in + "' is not a model GGUF");

    llama_model_quantize_params p = llama_model_quantize_default_params();
    p.ftype = ft->ftype;
    p.nthread = n_threads;
    const std::string tmp = out + ".tmp-" + std::to_string(getpid());
    FILE * probe = std::fopen(tmp.c_str(), "wb");  // libllama would only say "basic_ios::clear"
    require(probe != nullptr, "cannot write '" + out + "': " + std::strerror(errno));
    std::fclose(probe);
    clear_log_error();
    if (llama_model_quantize(in.c_str(), tmp.c_str(), &p) != 0) {
        std::remove(tmp.c_str());
        const std::string why = last_log_error();
        throw Error("cannot quantize '" + in + "'" + (why.empty() ? "" : ": " + why));
    }
    if (std::rename(tmp.c_str(), out.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw Error("cannot write '" + out + "'");
    }
}

}  // namespace tang
