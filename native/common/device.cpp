#include "device.h"

#include "errors.h"

namespace tang {

bool is_cpu(ggml_backend_dev_t d) { return ggml_backend_dev_type(d) == GGML_BACKEND_DEVICE_TYPE_CPU; }

ggml_backend_dev_t pick_device(const std::string & want) {
    ggml_backend_dev_t gpu = nullptr;
    std::string names;
    for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
        ggml_backend_dev_t d = ggml_backend_dev_get(i);
        names += std::string(names.empty() ? "" : ", ") + ggml_backend_dev_name(d);
        if (!gpu && ggml_backend_dev_type(d) == GGML_BACKEND_DEVICE_TYPE_GPU) gpu = d;
    }
    if (want == "cpu") return ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (want == "auto") return gpu ? gpu : ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (want == "cuda" || want == "gpu") {
        require(gpu != nullptr, "device '" + want + "' requested but none is available (devices: " + names +
                                    "); is this a CUDA build of tang-lora?");
        return gpu;
    }
    ggml_backend_dev_t d = ggml_backend_dev_by_name(want.c_str());
    require(d != nullptr, "unknown device '" + want + "' (devices: " + names + ")");
    return d;
}

}  // namespace tang
