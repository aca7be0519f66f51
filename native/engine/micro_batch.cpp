#include "micro_batch.h"

#include <cmath>
#include <string>

#include "errors.h"

namespace tang {

namespace {

// The target rule, once: the logits at position i of a row are scored when the next token is in
// the same sample and has a label. seg, labels: the row's (len) entries.
bool scored(const int32_t * seg, const int32_t * labels, int64_t i, int64_t len) {
    return seg[i] >= 0 && i + 1 < len && seg[i + 1] == seg[i] && labels[i + 1] != -100;
}

}  // namespace

int64_t count_targets(int64_t rows, const std::vector<int32_t> & labels, const std::vector<int32_t> & segments) {
    require(rows >= 1 && !labels.empty() && labels.size() % (size_t) rows == 0 && segments.size() == labels.size(),
            "a micro-batch needs rows of equal length and as many labels and segments as tokens");
    const int64_t len = (int64_t) labels.size() / rows;
    int64_t n = 0;
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t i = 0; i < len; ++i) n += scored(segments.data() + r * len, labels.data() + r * len, i, len);
    }
    return n;
}

MicroBatch make_micro_batch(int64_t rows, std::vector<int32_t> tokens, std::vector<int32_t> labels,
                            std::vector<int32_t> segments, int64_t n_vocab) {
    require(rows >= 1, "a micro-batch needs at least one row");
    require(!tokens.empty() && tokens.size() % (size_t) rows == 0,
            "tokens length " + std::to_string(tokens.size()) + " is not a multiple of rows " + std::to_string(rows));
    require(labels.size() == tokens.size(), "labels length " + std::to_string(labels.size()) +
                                                " differs from tokens length " + std::to_string(tokens.size()));
    require(segments.size() == tokens.size(), "segments length " + std::to_string(segments.size()) +
                                                  " differs from tokens length " + std::to_string(tokens.size()));
    MicroBatch b;
    b.rows = rows;
    b.len = (int64_t) tokens.size() / rows;
    for (size_t i = 0; i < tokens.size(); ++i) {
        require(tokens[i] >= 0 && tokens[i] < n_vocab, [&] {
            return "token id " + std::to_string(tokens[i]) + " at index " + std::to_string(i) +
                   " is outside the vocabulary (0.." + std::to_string(n_vocab - 1) + ")";
        });
        require(labels[i] == -100 || (labels[i] >= 0 && labels[i] < n_vocab), [&] {
            return "label " + std::to_string(labels[i]) + " at index " + std::to_string(i) +
                   " is neither -100 nor a token id of the vocabulary";
        });
        require(segments[i] >= -1, [&] { return "segment ids must be >= -1 (index " + std::to_string(i) + ")"; });
        require(segments[i] >= 0 || labels[i] == -100,
                [&] { return "padding (segment -1) must have label -100 (index " + std::to_string(i) + ")"; });
    }
    const int64_t L = b.len;
    b.positions.assign(tokens.size(), 0);
    b.mask.assign((size_t) (L * L * rows), -INFINITY);
    for (int64_t r = 0; r < rows; ++r) {
        const int32_t * seg = segments.data() + r * L;
        int32_t pos = 0;
        for (int64_t i = 0; i < L; ++i) {
            pos = (i > 0 && seg[i] == seg[i - 1]) ? pos + 1 : 0;
            b.positions[r * L + i] = pos;
            float * mrow = b.mask.data() + (r * L + i) * L;  // query i of row r over keys j
            if (seg[i] < 0) {
                mrow[i] = 0.0f;
                continue;
            }
            for (int64_t j = i - pos; j <= i; ++j) mrow[j] = 0.0f;
            if (scored(seg, labels.data() + r * L, i, L)) {
                b.target_rows.push_back((int32_t) (r * L + i));
                b.target_tokens.push_back(labels[r * L + i + 1]);
            }
        }
    }
    b.tokens = std::move(tokens);
    b.labels = std::move(labels);
    b.segments = std::move(segments);
    return b;
}

}  // namespace tang
