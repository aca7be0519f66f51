// Reading GGUF files, checked: a header summary (metadata and tensor table, no tensor data)
// with what a user needs to know about a model (architecture, shape, vocabulary, tensor types);
// a whole file with its tensors in host memory; and the check of a LoRA adapter file before
// libllama applies it. A file that is not GGUF, is truncated or is inconsistent is rejected
// with tang::Error.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "ggml-cpp.h"

namespace tang {

struct GgufSummary {
    std::string path;
    uint64_t file_size = 0;
    uint32_t version = 0;
    std::string general_type;       // "model", "adapter", ... ("" if absent)
    std::string architecture;       // general.architecture ("" if absent)
    std::string name;               // general.name ("" if absent)
    int64_t n_layer = -1;           // <arch>.block_count
    int64_t n_embd = -1;            // <arch>.embedding_length
    int64_t n_ff = -1;              // <arch>.feed_forward_length
    int64_t n_head = -1;            // <arch>.attention.head_count
    int64_t n_head_kv = -1;         // <arch>.attention.head_count_kv (n_head if absent)
    int64_t n_ctx_train = -1;       // <arch>.context_length
    int64_t n_vocab = -1;           // tokenizer.ggml.tokens length, else token_embd rows
    int64_t n_kv = 0;               // metadata entries
    int64_t n_tensors = 0;
    uint64_t n_params = 0;          // sum of tensor element counts
    std::map<std::string, int64_t> tensor_types;  // ggml type name -> tensor count
};

// `what` names the file in errors ("model file", "adapter file", ...).
GgufSummary inspect_gguf(const std::string & path, const std::string & what = "model file");

// A whole GGUF: its metadata and its tensors' data in a host context (after inspect_gguf).
struct LoadedGguf {
    gguf_context_ptr gguf;
    ggml_context_ptr ctx;
};
LoadedGguf read_gguf(const std::string & path, const std::string & what);

// Throws unless the file is a LoRA adapter GGUF of finite alpha and at least one tensor, every
// value finite: libllama would apply such an adapter and give NaN logits.
void check_lora_file(const std::string & path);

}  // namespace tang
