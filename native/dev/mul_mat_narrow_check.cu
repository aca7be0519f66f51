// Patch 0011's narrow kernel (ggml-cuda/mul-mat-narrow.cu) alone against a double-precision CPU
// reference: d = A^T x for a LoRA A (K, R) and activations x (K, T), over the shapes the trainer meets
// (K to 11008, R 1-32 in all three widths, T from less than a block to a partial last block, padded and
// odd strides). Built and run by scripts/gpu-check.sh after the CUDA build:
//   nvcc -std=c++17 -arch=sm_90 -I<ggml include dirs> mul_mat_narrow_check.cu <ggml libs> -lcublas -lcuda
#include "mul-mat-narrow.cuh"

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

namespace {

// the kernel's chunk sums come from a pool: here plain device allocations
struct MallocPool : ggml_cuda_pool {
    void * alloc(size_t size, size_t * actual_size) override {
        void * p = nullptr;
        CUDA_CHECK(cudaMalloc(&p, size));
        *actual_size = size;
        return p;
    }
    void free(void * ptr, size_t) override { CUDA_CHECK(cudaFree(ptr)); }
};

std::mt19937 rng(7);

struct DeviceVec {
    std::vector<float> h;
    float * d = nullptr;
    explicit DeviceVec(size_t n) : h(n) {
        std::normal_distribution<float> normal(0.0f, 1.0f);
        for (float & v : h) v = normal(rng);
        CUDA_CHECK(cudaMalloc(&d, n * sizeof(float)));
        CUDA_CHECK(cudaMemcpy(d, h.data(), n * sizeof(float), cudaMemcpyHostToDevice));
    }
    ~DeviceVec() { cudaFree(d); }
    std::vector<float> get() const {
        std::vector<float> out(h.size());
        CUDA_CHECK(cudaMemcpy(out.data(), d, h.size() * sizeof(float), cudaMemcpyDeviceToHost));
        return out;
    }
};

}  // namespace

int main() {
    MallocPool pool;
    double worst = 0;
    int cases = 0;
    for (int64_t K : {64, 128, 2048, 4096, 11008}) {
        for (int64_t R : {1, 4, 8, 12, 16, 24, 32}) {
            for (int64_t T : {5, 33, 50, 257, 1024}) {
                for (int64_t pad : {0, 1, 4}) {  // x's columns stay 16-byte aligned
                    const int64_t sa = K + pad, sx = K + (pad ? 4 : 0), sd = R + pad;
                    DeviceVec a((size_t) (sa * R)), x((size_t) (sx * T)), d((size_t) (sd * T));
                    if (!ggml_cuda_narrow_mul_mat_f32(pool, nullptr, a.d, sa, x.d, sx, d.d, sd, K, R, T)) {
                        std::printf("narrow check: K=%lld R=%lld T=%lld not taken\n", (long long) K, (long long) R, (long long) T);
                        return 1;
                    }
                    const std::vector<float> got = d.get();
                    double err = 0, scale = 0;
                    for (int64_t t = 0; t < T; ++t) {
                        for (int64_t r = 0; r < R; ++r) {
                            double s = 0;
                            for (int64_t k = 0; k < K; ++k) s += (double) a.h[r * sa + k] * x.h[t * sx + k];
                            const double e = std::fabs(s - got[t * sd + r]);
                            if (!(e <= err)) err = e;  // a NaN sticks
                            scale = std::fmax(scale, std::fabs(s));
                        }
                    }
                    const double rel = err / scale;
                    worst = std::fmax(worst, rel);
                    cases++;
                    if (!(rel <= 1e-5)) {
                        std::printf("narrow check: K=%lld R=%lld T=%lld pad=%lld: max rel error %.3g\n", (long long) K, (long long) R,
                                    (long long) T, (long long) pad, rel);
                        return 1;
                    }
                }
            }
        }
    }
    if (ggml_cuda_narrow_mul_mat_f32(pool, nullptr, nullptr, 64, nullptr, 64, nullptr, 33, 64, 33, 8)) {
        std::printf("narrow check: a rank of 33 was taken\n");
        return 1;
    }
    std::printf("narrow check: %d shapes, max rel error %.3g vs float64\n", cases, worst);
    return 0;
}
