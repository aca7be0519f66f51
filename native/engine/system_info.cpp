#include "system_info.h"

#include "ggml-backend.h"
#include "log.h"

namespace tang {

static const char * device_type_name(enum ggml_backend_dev_type t) {
    switch (t) {
        case GGML_BACKEND_DEVICE_TYPE_CPU:   return "cpu";
        case GGML_BACKEND_DEVICE_TYPE_GPU:   return "gpu";
        case GGML_BACKEND_DEVICE_TYPE_IGPU:  return "igpu";
        case GGML_BACKEND_DEVICE_TYPE_ACCEL: return "accel";
        default:                             return "unknown";
    }
}

SystemInfo system_info() {
    log_init();
    SystemInfo info;
    info.llama_cpp_commit = TANG_LORA_LLAMA_COMMIT;
    for (size_t i = 0; i < ggml_backend_reg_count(); ++i) {
        info.backends.push_back(ggml_backend_reg_name(ggml_backend_reg_get(i)));
    }
    for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
        ggml_backend_dev_t dev = ggml_backend_dev_get(i);
        DeviceInfo d;
        d.name = ggml_backend_dev_name(dev);
        d.description = ggml_backend_dev_description(dev);
        d.type = device_type_name(ggml_backend_dev_type(dev));
        d.backend = ggml_backend_reg_name(ggml_backend_dev_backend_reg(dev));
        size_t free = 0, total = 0;
        ggml_backend_dev_memory(dev, &free, &total);
        d.memory_free = free;
        d.memory_total = total;
        info.devices.push_back(d);
    }
    return info;
}

}  // namespace tang
