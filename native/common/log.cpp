#include "log.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "ggml.h"
#include "llama.h"

namespace tang {

static thread_local std::string t_last_error;
static int g_verbosity = 0;

static void on_log(ggml_log_level level, const char * text, void * /*user*/) {
    if (level == GGML_LOG_LEVEL_ERROR && text) {
        std::string line(text);
        while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
        if (!line.empty()) t_last_error = line;
    }
    const bool show = g_verbosity >= 2 || (g_verbosity >= 1 && level >= GGML_LOG_LEVEL_WARN);
    if (show && text) fputs(text, stderr);
}

void log_init() {
    static std::once_flag once;
    std::call_once(once, [] {
        const char * v = std::getenv("TANG_LORA_LOG");
        g_verbosity = v ? std::atoi(v) : 0;
        ggml_log_set(on_log, nullptr);
        llama_log_set(on_log, nullptr);
    });
}

std::string last_log_error() { return t_last_error; }
void clear_log_error() { t_last_error.clear(); }

}  // namespace tang
