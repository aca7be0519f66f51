// ggml and libllama log through one callback installed here. Nothing is printed unless
// TANG_LORA_LOG is set (1 = warnings and errors, 2 = everything); the last error line
// of each thread is kept so a failing call can name what ggml complained about.
#pragma once

#include <string>

namespace tang {

void log_init();                // idempotent; call before any ggml/llama call
std::string last_log_error();   // last error line logged on this thread ("" if none)
void clear_log_error();

}  // namespace tang
