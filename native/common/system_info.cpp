#include "system_info.h"

#include <sstream>

#include "ggml-backend.h"
#include "ggml-cpu.h"
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

// The CPU device's extra buffer types: the repacked weight layouts libllama puts weights in.
static std::vector<std::string> cpu_extra_buffer_types() {
    std::vector<std::string> names;
    ggml_backend_reg_t reg = ggml_backend_reg_by_name("CPU");
    auto get = reg ? (ggml_backend_dev_get_extra_bufts_t) ggml_backend_reg_get_proc_address(reg, "ggml_backend_dev_get_extra_bufts")
                   : nullptr;
    if (!get) return names;
    for (ggml_backend_buffer_type_t * b = get(ggml_backend_reg_dev_get(reg, 0)); b && *b; ++b) {
        names.push_back(ggml_backend_buft_name(*b));
    }
    return names;
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
    std::istringstream isa(kCompiledCpuIsa);
    for (std::string f; isa >> f;) info.cpu_isa.push_back(f);
    info.cpu_extra_buffer_types = cpu_extra_buffer_types();
    const bool amx_built = ggml_cpu_has_amx_int8() && ggml_cpu_has_avx512_vnni();
    bool amx_used = false;
    for (const std::string & b : info.cpu_extra_buffer_types) amx_used = amx_used || b == "AMX";
    info.amx = amx_used    ? "in use (quantized weights of generation)"
               : amx_built ? "not in use: built in, but this CPU or its OS does not enable AMX tile state"
                           : "not in use: not built in (the build machine's compiler did not target AMX)";
    return info;
}

}  // namespace tang
