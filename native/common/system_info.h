// What this build of the engine has: the pinned llama.cpp commit, the ggml backends
// compiled in, the CPU extensions its CPU backend uses, and the devices they see.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tang {

struct DeviceInfo {
    std::string name;         // ggml device name, e.g. "CPU", "CUDA0"
    std::string description;  // e.g. the GPU's marketing name
    std::string type;         // "cpu" | "gpu" | "igpu" | "accel"
    std::string backend;      // the ggml backend (registry) it belongs to
    uint64_t memory_free = 0;
    uint64_t memory_total = 0;
};

// The CPU backend's x86 extensions as /proc/cpuinfo names them, space-separated (cpu_isa.cpp).
extern const char kCompiledCpuIsa[];

struct SystemInfo {
    std::string llama_cpp_commit;
    std::vector<std::string> backends;
    std::vector<DeviceInfo> devices;
    std::vector<std::string> cpu_isa;              // kCompiledCpuIsa, split
    std::vector<std::string> cpu_extra_buffer_types;  // repacked weight layouts libllama may use ("CPU_REPACK", "AMX")
    std::string amx;  // "in use", or why ggml's AMX kernels are not
};

SystemInfo system_info();

}  // namespace tang
