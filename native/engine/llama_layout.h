// The llama-family GGUF layout the engine knows: architectures, hyperparameters and the
// tensor names and shapes (ggml order: ne[0] is the input/innermost dimension).
//   token_embd.weight           (n_embd, n_vocab)
//   blk.<i>.attn_norm.weight    (n_embd)
//   blk.<i>.attn_q.weight       (n_embd, n_embd)          + .bias (n_embd)     [qwen2]
//   blk.<i>.attn_k.weight       (n_embd, n_embd_kv)       + .bias (n_embd_kv)  [qwen2]
//   blk.<i>.attn_v.weight       (n_embd, n_embd_kv)       + .bias (n_embd_kv)  [qwen2]
//   blk.<i>.attn_output.weight  (n_embd, n_embd)
//   blk.<i>.ffn_norm.weight     (n_embd)
//   blk.<i>.ffn_gate.weight     (n_embd, n_ff)
//   blk.<i>.ffn_up.weight       (n_embd, n_ff)
//   blk.<i>.ffn_down.weight     (n_ff, n_embd)
//   output_norm.weight          (n_embd)
//   output.weight               (n_embd, n_vocab)   optional: tied to token_embd when absent
//   rope_freqs.weight           (n_rot/2)           optional: llama-3 rope scaling factors
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "ggml.h"

namespace tang {

struct Hparams {
    std::string arch;         // "llama" | "mistral" | "qwen2"
    int64_t n_layer = 0;
    int64_t n_embd = 0;
    int64_t n_ff = 0;
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t n_vocab = 0;
    int64_t n_rot = 0;        // rotary dimensions (= head dim for these archs)
    int64_t n_ctx_train = 0;
    float eps = 1e-5f;        // RMSNorm epsilon
    float rope_base = 10000.0f;
    float rope_scale = 1.0f;  // linear scaling: positions multiplied by this
    int rope_mode = 0;        // GGML_ROPE_TYPE_NORM (llama, mistral) or _NEOX (qwen2)
    bool qkv_bias = false;    // qwen2

    int64_t head_dim() const { return n_embd / n_head; }
    int64_t n_embd_kv() const { return head_dim() * n_head_kv; }
};

// The seven projections LoRA can target, in the order adapters and state files use.
enum class Module { q, k, v, o, gate, up, down };
constexpr int kModules = 7;
constexpr std::array<Module, kModules> kAllModules = {Module::q, Module::k, Module::v, Module::o,
                                                      Module::gate, Module::up, Module::down};

const char * module_tensor(Module m);  // "attn_q", ..., "ffn_down"
const char * module_hf_name(Module m); // "q_proj", ..., "down_proj"
bool module_from_name(const std::string & name, Module & out);  // accepts either naming

// (in, out) of a module's weight: ne = [in, out].
std::array<int64_t, 2> module_shape(const Hparams & hp, Module m);

bool arch_supported(const std::string & arch);
int rope_mode_for(const std::string & arch);

// Weight types the engine loads (and create-model writes).
bool weight_type_supported(ggml_type t);
bool parse_weight_type(const std::string & name, ggml_type & out);  // "q4_k" -> GGML_TYPE_Q4_K

}  // namespace tang
