#include "op_profile.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "graph_node.h"

namespace tang {

namespace {

// "MUL_MAT q4_K.f32 4096x1024x1x1": the op, its sources' types and its shape
std::string kind(const ggml_tensor * t) {
    std::string k = ggml_op_desc(t);
    for (int j = 0; j < 2; ++j) k += std::string(j ? "." : " ") + (t->src[j] ? ggml_type_name(t->src[j]->type) : "-");
    char shape[96];
    snprintf(shape, sizeof shape, " %lldx%lldx%lldx%lld", (long long) t->ne[0], (long long) t->ne[1],
             (long long) t->ne[2], (long long) t->ne[3]);
    return k + shape;
}

}  // namespace

bool OpProfile::requested() { return std::getenv("TANG_LORA_PROFILE") != nullptr; }

OpProfile::OpProfile(ggml_backend_t backend) : backend_(backend), path_(std::getenv("TANG_LORA_PROFILE")) {}

void OpProfile::attach(ggml_backend_sched_t sched) { ggml_backend_sched_set_eval_callback(sched, &OpProfile::on_node, this); }

bool OpProfile::on_node(ggml_tensor * t, bool ask, void * self) {
    auto * p = static_cast<OpProfile *>(self);
    if (ask) {  // asked before running the nodes up to t: the clock starts once earlier work is done
        if (computes(t) && p->last_ == std::chrono::steady_clock::time_point()) {
            ggml_backend_synchronize(p->backend_);
            p->last_ = std::chrono::steady_clock::now();
        }
        return computes(t);
    }
    const auto now = std::chrono::steady_clock::now();
    Entry & e = p->entries_[kind(t)];
    e.count++;
    e.ms += std::chrono::duration<double, std::milli>(now - p->last_).count();
    e.bytes += (double) ggml_nbytes(t);
    for (int j = 0; j < GGML_MAX_SRC; ++j) if (t->src[j]) e.bytes += (double) ggml_nbytes(t->src[j]);
    p->last_ = {};
    return true;
}

OpProfile::~OpProfile() {
    std::vector<std::pair<std::string, Entry>> rows(entries_.begin(), entries_.end());
    std::sort(rows.begin(), rows.end(), [](const auto & a, const auto & b) { return a.second.ms > b.second.ms; });
    FILE * f = std::fopen(path_.c_str(), "w");
    if (!f) return;
    double total = 0;
    for (const auto & r : rows) total += r.second.ms;
    std::fprintf(f, "total %.1f ms over %zu kinds\n", total, rows.size());
    for (const auto & [k, e] : rows) {
        std::fprintf(f, "%-52s %7d %10.2f ms %9.1f us %8.1f GB/s\n", k.c_str(), e.count, e.ms, 1000 * e.ms / e.count,
                     e.bytes / (e.ms * 1e6));
    }
    std::fclose(f);
}

}  // namespace tang
