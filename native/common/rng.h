// The counter-based random numbers every seeded draw of tang-lora uses (random models, the
// LoRA init, dropout masks): a pure function of a 64-bit key, so an independent implementation
// (test/reference/make_fixtures.py, the CUDA dropout kernel) reproduces them bit for bit.
#pragma once

#include <cstdint>

namespace tang {

// splitmix64's finalizer: a bijective mix of the key's bits.
inline uint64_t splitmix64_mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// The top 24 bits of splitmix64_mix(key) as a float in [0, 2^24), exact in float32: scaled by
// 2^-24 it is a uniform draw in [0, 1).
inline float counter_bits24(uint64_t key) { return (float) (splitmix64_mix(key) >> 40); }

}  // namespace tang
