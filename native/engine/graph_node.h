// What a graph node is, as the trainer and the op profile ask it.
#pragma once

#include "ggml.h"

namespace tang {

// Nodes that compute something (views and reshapes only relabel memory).
inline bool computes(const ggml_tensor * t) {
    switch (t->op) {
        case GGML_OP_NONE: case GGML_OP_VIEW: case GGML_OP_RESHAPE: case GGML_OP_PERMUTE: case GGML_OP_TRANSPOSE:
            return false;
        default:
            return true;
    }
}

}  // namespace tang
