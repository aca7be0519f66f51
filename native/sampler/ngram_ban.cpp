#include "ngram_ban.h"

#include <cmath>
#include <unordered_set>
#include <vector>

#include "llama.h"

namespace tang {

namespace {

struct NgramBan {
    int n;
    std::vector<llama_token> seq;  // prompt + output so far
};

NgramBan * state(const llama_sampler * s) { return (NgramBan *) s->ctx; }

const char * name(const llama_sampler *) { return "no-repeat-ngram"; }

void accept(llama_sampler * s, llama_token t) { state(s)->seq.push_back(t); }

// Ban every token that followed an earlier occurrence of the last n-1 tokens.
void apply(llama_sampler * s, llama_token_data_array * cur) {
    const NgramBan & st = *state(s);
    const size_t n = (size_t) st.n, len = st.seq.size();
    if (len + 1 < n) return;
    const llama_token * prefix = st.seq.data() + len - (n - 1);
    std::unordered_set<llama_token> banned;
    for (size_t i = 0; i + n <= len; ++i) {
        bool same = true;
        for (size_t k = 0; k + 1 < n && same; ++k) same = st.seq[i + k] == prefix[k];
        if (same) banned.insert(st.seq[i + n - 1]);
    }
    if (banned.empty()) return;
    for (size_t i = 0; i < cur->size; ++i) {
        if (banned.count(cur->data[i].id)) cur->data[i].logit = -INFINITY;
    }
}

void reset(llama_sampler * s) { state(s)->seq.clear(); }

llama_sampler * clone(const llama_sampler * s);

void free_state(llama_sampler * s) { delete state(s); }

llama_sampler_i iface() {
    llama_sampler_i i{};
    i.name = name;
    i.accept = accept;
    i.apply = apply;
    i.reset = reset;
    i.clone = clone;
    i.free = free_state;
    return i;
}

llama_sampler_i g_iface = iface();

llama_sampler * clone(const llama_sampler * s) { return llama_sampler_init(&g_iface, new NgramBan(*state(s))); }

}  // namespace

llama_sampler * ngram_ban_sampler_init(int n) { return llama_sampler_init(&g_iface, new NgramBan{n, {}}); }

}  // namespace tang
