// Patch 0004's split-K kernel (ggml-cuda/mul-mat-narrow.cu) alone against a double-precision
// CPU reference: d = a^T x for a LoRA A (K, R) and activations x (K, T), over the shapes the
// trainer meets (K to 11008, R 1-32 in all three widths, T with a partial last block, padded
// row strides). Built and run by scripts/gpu-check.sh after the CUDA build:
//   nvcc -std=c++17 -arch=sm_90 -I<ggml include dirs> mul_mat_narrow_check.cu <ggml libs> -lcublas -lcuda
#include "mul-mat-narrow.cu"

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

// The kernel width the dispatcher (ggml_cuda_mul_mat_narrow) picks for R rows.
static void launch(const float * a, const float * x, float * d, int K, int R, int T, int64_t sa, int64_t sx, int64_t sd) {
    if (R <= 8) launch_narrow<8>(a, x, d, K, R, T, sa, sx, sd, nullptr);
    else if (R <= 16) launch_narrow<16>(a, x, d, K, R, T, sa, sx, sd, nullptr);
    else launch_narrow<32>(a, x, d, K, R, T, sa, sx, sd, nullptr);
}

int main() {
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    double worst = 0;
    int cases = 0;
    for (int K : {64, 128, 2048, 4096, 11008}) {
        for (int R : {1, 4, 8, 12, 16, 24, 32}) {
            for (int T : {33, 50, 257, 1024}) {
                for (int pad : {0, 4}) {
                    const int64_t sa = K + pad, sx = K + pad, sd = R;
                    std::vector<float> a(sa * R), x(sx * T), d(sd * T);
                    for (float & v : a) v = normal(rng);
                    for (float & v : x) v = normal(rng);
                    float *ga, *gx, *gd;
                    cudaMalloc(&ga, a.size() * 4);
                    cudaMalloc(&gx, x.size() * 4);
                    cudaMalloc(&gd, d.size() * 4);
                    cudaMemcpy(ga, a.data(), a.size() * 4, cudaMemcpyHostToDevice);
                    cudaMemcpy(gx, x.data(), x.size() * 4, cudaMemcpyHostToDevice);
                    launch(ga, gx, gd, K, R, T, sa, sx, sd);
                    if (cudaDeviceSynchronize() != cudaSuccess) {
                        std::printf("narrow check: launch failed at K=%d R=%d T=%d\n", K, R, T);
                        return 1;
                    }
                    cudaMemcpy(d.data(), gd, d.size() * 4, cudaMemcpyDeviceToHost);
                    double err = 0, scale = 0;
                    for (int t = 0; t < T; ++t) {
                        for (int r = 0; r < R; ++r) {
                            double s = 0;
                            for (int k = 0; k < K; ++k) s += (double) a[r * sa + k] * x[t * sx + k];
                            err = std::fmax(err, std::fabs(s - d[t * sd + r]));
                            scale = std::fmax(scale, std::fabs(s));
                        }
                    }
                    const double rel = err / scale;
                    worst = std::fmax(worst, rel);
                    cases++;
                    if (rel > 1e-5) {
                        std::printf("narrow check: K=%d R=%d T=%d pad=%d: max rel error %.3g\n", K, R, T, pad, rel);
                        return 1;
                    }
                    cudaFree(ga);
                    cudaFree(gx);
                    cudaFree(gd);
                }
            }
        }
    }
    std::printf("narrow check: %d shapes, max rel error %.3g vs float64\n", cases, worst);
    return 0;
}
