// Per-op time of every graph the attached schedulers run, for finding where a training step goes; on
// when TANG_LORA_PROFILE names a file. The scheduler then runs each computing node alone;
// the clock starts after the backend has finished all earlier work and stops after the node's
// own, so each time carries a launch and a synchronization (about 13 us on an H200): rank ops
// with it, do not take step times from it. The table (op, types, shape, count, total ms, us each, GB/s moved)
// is written to the file when the profile is disposed.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "ggml-backend.h"

namespace tang {

class OpProfile {
  public:
    static bool requested();
    explicit OpProfile(ggml_backend_t backend);  // backend: the one timed
    ~OpProfile();                                 // writes the table
    void attach(ggml_backend_sched_t sched);      // times every graph sched runs (one at a time)
    OpProfile(const OpProfile &) = delete;
    OpProfile & operator=(const OpProfile &) = delete;

  private:
    struct Entry {
        int count = 0;
        double ms = 0;
        double bytes = 0;  // read + written
    };
    static bool on_node(ggml_tensor * t, bool ask, void * self);

    ggml_backend_t backend_;
    std::string path_;
    std::map<std::string, Entry> entries_;
    std::chrono::steady_clock::time_point last_;
};

}  // namespace tang
