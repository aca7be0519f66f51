// no_repeat_ngram_size as a libllama sampler (Hugging Face semantics): with n-gram size n,
// a token that would complete an n-gram already present in prompt + output gets logit -inf.
// It sees the sequence through accept(), so it composes with libllama's other samplers in a
// chain: accept the prompt tokens into the chain before sampling.
#pragma once

struct llama_sampler;

namespace tang {

llama_sampler * ngram_ban_sampler_init(int n);  // n >= 1; owned by the chain it is added to

}  // namespace tang
