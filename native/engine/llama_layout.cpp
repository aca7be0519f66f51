#include "llama_layout.h"

#include <cctype>

namespace tang {

const char * module_tensor(Module m) {
    static const char * names[kModules] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
    return names[(int) m];
}

const char * module_hf_name(Module m) {
    static const char * names[kModules] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
    return names[(int) m];
}

bool module_from_name(const std::string & name, Module & out) {
    for (Module m : kAllModules) {
        if (name == module_tensor(m) || name == module_hf_name(m)) {
            out = m;
            return true;
        }
    }
    return false;
}

std::array<int64_t, 2> module_shape(const Hparams & hp, Module m) {
    switch (m) {
        case Module::q:    return {hp.n_embd, hp.n_embd};
        case Module::k:    return {hp.n_embd, hp.n_embd_kv()};
        case Module::v:    return {hp.n_embd, hp.n_embd_kv()};
        case Module::o:    return {hp.n_embd, hp.n_embd};
        case Module::gate: return {hp.n_embd, hp.n_ff};
        case Module::up:   return {hp.n_embd, hp.n_ff};
        case Module::down: return {hp.n_ff, hp.n_embd};
    }
    return {0, 0};
}

bool arch_supported(const std::string & arch) { return arch == "llama" || arch == "mistral" || arch == "qwen2"; }

int rope_mode_for(const std::string & arch) { return arch == "qwen2" ? GGML_ROPE_TYPE_NEOX : 0; }

static const ggml_type kWeightTypes[] = {GGML_TYPE_F32,  GGML_TYPE_F16,  GGML_TYPE_BF16, GGML_TYPE_Q8_0, GGML_TYPE_Q4_0,
                                         GGML_TYPE_Q4_1, GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K};

bool weight_type_supported(ggml_type t) {
    for (ggml_type w : kWeightTypes) if (w == t) return true;
    return false;
}

static std::string lowercase(const std::string & s) {
    std::string out;
    for (char c : s) out += (char) std::tolower((unsigned char) c);
    return out;
}

bool parse_weight_type(const std::string & name, ggml_type & out) {
    for (ggml_type w : kWeightTypes) {
        if (lowercase(name) == lowercase(ggml_type_name(w))) {
            out = w;
            return true;
        }
    }
    return false;
}

}  // namespace tang
