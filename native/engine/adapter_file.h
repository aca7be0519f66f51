// Adapter and optimizer-state files, both GGUF, both written atomically.
// Adapter (llama.cpp's LoRA format, loadable by llama.cpp, llama-server and Ollama):
//   general.type = "adapter", general.architecture = the base's, adapter.type = "lora",
//   adapter.lora.alpha (f32); tensors "<base tensor>.lora_a" ne = [in, r] and
//   "<base tensor>.lora_b" ne = [r, out], f32.
// State (tang-lora's own, for exact resume): general.type = "tang-lora-state", the LoRA
//   config and base shape, the step and micro-batch counters, and per pair A, B and the
//   AdamW moments ("<name>.adam_m", "<name>.adam_v").
#pragma once

#include <cstdint>
#include <string>

#include "llama_layout.h"
#include "lora_adapter.h"

namespace tang {

void write_adapter_gguf(const std::string & path, const Hparams & hp, const LoraAdapter & lora);
void read_adapter_gguf(const std::string & path, const Hparams & hp, LoraAdapter & lora);
// Throws unless the adapter file holds exactly the adapter's current A and B (a checkpoint's
// adapter against its optimizer state).
void check_adapter_gguf(const std::string & path, const Hparams & hp, const LoraAdapter & lora);

void write_state_gguf(const std::string & path, const Hparams & hp, const LoraAdapter & lora, int64_t step,
                      int64_t micro);
void read_state_gguf(const std::string & path, const Hparams & hp, LoraAdapter & lora, int64_t & step,
                     int64_t & micro);

}  // namespace tang
