// The narrow kernels (ggml-cuda/mul-mat-narrow.cu) alone against a double-precision CPU reference, over
// the shapes the trainer meets (widths to 11008, R 1-32 in all three kernel widths, T from less than a
// block to a partial last block, padded and odd strides):
// - patch 0011's d = A^T x for a LoRA A (K, R) and activations x (K, T);
// - patch 0012's d (+)= x u^T for x (N, T) and u (R, T), a LoRA matrix's gradient, d in both layouts
//   (A's: (N, R); B's: (R, N)), written and accumulated;
// - d = B^T u for B (R, N) and u (R, T), a LoRA B times A x (N x T sums of R products).
// Built and run by scripts/gpu-check.sh after the CUDA build:
//   nvcc -std=c++17 -arch=sm_90 -I<ggml include dirs> mul_mat_narrow_check.cu <ggml libs> -lcublas -lcuda
#include "mul-mat-narrow.cuh"

#include <cmath>
#include <cstdio>
#include <functional>
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

// a kernel's largest error against float64 sums, relative to the largest sum (a NaN sticks)
struct MaxRelError {
    double err = 0, scale = 0;
    void add(double want, float got) {
        const double e = std::fabs(want - got);
        if (!(e <= err)) err = e;
        scale = std::fmax(scale, std::fabs(want));
    }
    double rel() const { return err / scale; }
};

// got[i + j sd] against ggml_mul_mat's sums in float64: sum over k < K of a[i sa + k] x[j sx + k], i < M, j < T
MaxRelError mul_mat_error(const std::vector<float> & a, int64_t sa, const std::vector<float> & x, int64_t sx, int64_t K, int64_t M,
                          int64_t T, const std::vector<float> & got, int64_t sd) {
    MaxRelError m;
    for (int64_t j = 0; j < T; ++j) {
        for (int64_t i = 0; i < M; ++i) {
            double s = 0;
            for (int64_t k = 0; k < K; ++k) s += (double) a[i * sa + k] * x[j * sx + k];
            m.add(s, got[i + j * sd]);
        }
    }
    return m;
}

// a kernel's cases so far: their worst error, and whether the last one is within the checks' 1e-5
struct Tally {
    double worst = 0;
    int cases = 0;
    bool add(const MaxRelError & m) {
        worst = std::fmax(worst, m.rel());
        cases++;
        return m.rel() <= 1e-5;
    }
};

}  // namespace

int main() {
    MallocPool pool;
    Tally ax;
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
                    const MaxRelError m = mul_mat_error(a.h, sa, x.h, sx, K, R, T, d.get(), sd);
                    if (!ax.add(m)) {
                        std::printf("narrow check: K=%lld R=%lld T=%lld pad=%lld: max rel error %.3g\n", (long long) K, (long long) R,
                                    (long long) T, (long long) pad, m.rel());
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
    std::printf("narrow check: %d shapes, max rel error %.3g vs float64\n", ax.cases, ax.worst);

    Tally op;
    for (int64_t N : {31, 4096, 11008}) {
        for (int64_t R : {1, 8, 12, 32}) {
            for (int64_t T : {1, 33, 1030}) {
                for (int layout = 0; layout < 2; ++layout) {  // 0: d (N, R), A's gradient; 1: d (R, N), B's
                    for (int accumulate = 0; accumulate < 2; ++accumulate) {
                        const int64_t pad = accumulate ? 3 : 0, sx = N + pad, ld = (layout ? R : N) + pad;
                        const int64_t sdi = layout ? ld : 1, sdr = layout ? 1 : ld;
                        DeviceVec x((size_t) (sx * T)), u((size_t) (R * T)), d((size_t) (ld * (layout ? N : R)));
                        if (!ggml_cuda_narrow_out_prod_f32(nullptr, x.d, sx, u.d, d.d, sdi, sdr, N, R, T, accumulate)) {
                            std::printf("narrow out-prod check: N=%lld R=%lld T=%lld not taken\n", (long long) N, (long long) R, (long long) T);
                            return 1;
                        }
                        const std::vector<float> got = d.get();
                        MaxRelError m;
                        for (int64_t i = 0; i < N; ++i) {
                            for (int64_t r = 0; r < R; ++r) {
                                double s = accumulate ? d.h[i * sdi + r * sdr] : 0.0;
                                for (int64_t t = 0; t < T; ++t) s += (double) x.h[i + t * sx] * u.h[r + t * R];
                                m.add(s, got[i * sdi + r * sdr]);
                            }
                        }
                        if (!op.add(m)) {
                            std::printf("narrow out-prod check: N=%lld R=%lld T=%lld layout=%d accumulate=%d: max rel error %.3g\n",
                                        (long long) N, (long long) R, (long long) T, layout, accumulate, m.rel());
                            return 1;
                        }
                    }
                }
            }
        }
    }
    if (ggml_cuda_narrow_out_prod_f32(nullptr, nullptr, 64, nullptr, nullptr, 1, 64, 64, 33, 8, false)) {
        std::printf("narrow out-prod check: a rank of 33 was taken\n");
        return 1;
    }
    std::printf("narrow out-prod check: %d shapes, max rel error %.3g vs float64\n", op.cases, op.worst);

    Tally sk;
    for (int64_t N : {31, 4096, 11008}) {
        for (int64_t R : {1, 8, 12, 32}) {
            for (int64_t T : {1, 33, 1030}) {
                for (int64_t pad : {0, 3}) {
                    const int64_t sb = R + pad, su = R + pad, sd = N + pad;
                    DeviceVec b((size_t) (sb * N)), u((size_t) (su * T)), d((size_t) (sd * T));
                    if (!ggml_cuda_short_k_mul_mat_f32(nullptr, b.d, sb, u.d, su, d.d, sd, N, R, T)) {
                        std::printf("short-k check: N=%lld R=%lld T=%lld not taken\n", (long long) N, (long long) R, (long long) T);
                        return 1;
                    }
                    const MaxRelError m = mul_mat_error(b.h, sb, u.h, su, R, N, T, d.get(), sd);
                    if (!sk.add(m)) {
                        std::printf("short-k check: N=%lld R=%lld T=%lld pad=%lld: max rel error %.3g\n", (long long) N, (long long) R,
                                    (long long) T, (long long) pad, m.rel());
                        return 1;
                    }
                }
            }
        }
    }
    if (ggml_cuda_short_k_mul_mat_f32(nullptr, nullptr, 33, nullptr, 33, nullptr, 64, 64, 33, 8)) {
        std::printf("short-k check: a rank of 33 was taken\n");
        return 1;
    }
    std::printf("short-k check: %d shapes, max rel error %.3g vs float64\n", sk.cases, sk.worst);
    // for the record (not a test): the kernels' times on the trainer's shapes, r = 8 and 1024 tokens, each
    // moving N x T floats (the out-product reads x, the short-k product writes d). Not A x: its chunk sums come
    // from this file's pool, a cudaMalloc a call, which would be most of what is timed.
    for (int64_t N : {4096, 11008}) {
        const int64_t R = 8, T = 1024;
        DeviceVec x((size_t) (N * T)), u((size_t) (R * T)), d((size_t) (N * R)), b((size_t) (R * N));
        const auto time = [&](const char * what, const std::function<void()> & launch) {
            cudaEvent_t e0, e1;
            CUDA_CHECK(cudaEventCreate(&e0));
            CUDA_CHECK(cudaEventCreate(&e1));
            constexpr int reps = 20;
            launch();
            CUDA_CHECK(cudaEventRecord(e0));
            for (int k = 0; k < reps; ++k) launch();
            CUDA_CHECK(cudaEventRecord(e1));
            CUDA_CHECK(cudaEventSynchronize(e1));
            float ms = 0;
            CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
            const double us = 1e3 * ms / reps;
            std::printf("%s time: N=%lld R=8 T=1024: %.1f us, %.2f TB/s\n", what, (long long) N, us, N * T * 4 / us / 1e6);
            CUDA_CHECK(cudaEventDestroy(e0));
            CUDA_CHECK(cudaEventDestroy(e1));
        };
        time("narrow out-prod", [&] { ggml_cuda_narrow_out_prod_f32(nullptr, x.d, N, u.d, d.d, 1, N, N, R, T, true); });
        time("short-k product", [&] { ggml_cuda_short_k_mul_mat_f32(nullptr, b.d, R, u.d, R, x.d, N, N, R, T); });
    }
    return 0;
}
