#include "micro_batch.h"

#include <cmath>
#include <string>

#include "errors.h"

namespace tang {

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
        require(tokens[i] >= 0 && tokens[i] < n_vocab, "token id " + std::to_string(tokens[i]) + " at index " +
                                                           std::to_string(i) + " is outside the vocabulary (0.." +
                                                           std::to_string(n_vocab - 1) + ")");
        require(labels[i] == -100 || (labels[i] >= 0 && labels[i] < n_vocab),
                "label " + std::to_string(labels[i]) + " at index " + std::to_string(i) +
                    " is neither -100 nor a token id of the vocabulary");
        require(segments[i] >= -1, "segment ids must be >= -1 (index " + std::to_string(i) + ")");
        require(segments[i] >= 0 || labels[i] == -100, "padding (segment -1) must have label -100 (index " +
                                                           std::to_string(i) + ")");
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
            // next-token target within the same sample
            if (i + 1 < L && seg[i + 1] == seg[i] && labels[r * L + i + 1] != -100) {
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
