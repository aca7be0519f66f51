// One micro-batch as the engine consumes it: `rows` rows of `len` tokens each, every row
// holding one or more packed samples (segments) and maybe padding. From the caller:
//   tokens   (rows * len)  token ids
//   labels   (rows * len)  HF-style labels aligned with tokens: -100 = no target; the
//                          logits at position t are trained to predict labels[t + 1]
//   segments (rows * len)  sample index of each token within its row, -1 = padding
// Derived here (validated before any ggml call):
//   positions  restart at 0 at each sample's first token
//   mask       (len, len, 1, rows) attention bias: 0 where key j may be seen from query i
//              (same sample, j <= i), -inf elsewhere; padding attends to itself only
//   targets    positions t whose next token is a target, and that token
#pragma once

#include <cstdint>
#include <vector>

namespace tang {

struct MicroBatch {
    int64_t rows = 0;
    int64_t len = 0;
    std::vector<int32_t> tokens;
    std::vector<int32_t> labels;
    std::vector<int32_t> segments;

    std::vector<int32_t> positions;      // (rows * len)
    std::vector<float> mask;             // (len * len * rows)
    std::vector<int32_t> target_rows;    // flat token index t whose logits are scored
    std::vector<int32_t> target_tokens;  // the token they must predict

    int64_t n_tokens() const { return rows * len; }
    int64_t n_targets() const { return (int64_t) target_rows.size(); }
};

// The number of scored positions (targets) of such arrays, without building the rest.
int64_t count_targets(int64_t rows, const std::vector<int32_t> & labels, const std::vector<int32_t> & segments);

// Validates the caller's arrays against the vocabulary and fills the derived fields.
// Throws tang::Error naming the first problem.
MicroBatch make_micro_batch(int64_t rows, std::vector<int32_t> tokens, std::vector<int32_t> labels,
                            std::vector<int32_t> segments, int64_t n_vocab);

}  // namespace tang
