// A LoRA adapter file and the scale to apply it at: what generation and merging take.
#pragma once

#include <string>

namespace tang {

struct AdapterRef {
    std::string path;
    float scale = 1.0f;
};

// Throws tang::Error unless the file is a usable LoRA adapter (check_lora_file) and the scale a
// number from -100 to 100.
void check_adapter(const AdapterRef & a);

}  // namespace tang
