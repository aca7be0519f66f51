// The device rule, once, for training and generation: "cpu"; "auto" (the first GPU, else the
// CPU); "cuda" or "gpu" (the first GPU, an error without one); or a ggml device name ("CUDA1").
#pragma once

#include <string>

#include "ggml-backend.h"

namespace tang {

ggml_backend_dev_t pick_device(const std::string & want);  // throws tang::Error naming the devices
bool is_cpu(ggml_backend_dev_t d);

}  // namespace tang
