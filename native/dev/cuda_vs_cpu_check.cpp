// tang-lora's CUDA kernels reached through ggml graphs, on CUDA against ggml-cpu:
// - patch 0009, the training head: get_rows_back (the gradient of gathering the target rows: random
//   indices with repeats and sorted unique ones, one and several 256-index chunks, widths that are not
//   a multiple of 256) bit for bit (the same sums in the same order); cross_entropy_loss and its
//   backward (vocabularies whose row fits the shared-memory copy and one that does not) within 1e-5;
// - patch 0013, a quantized weight expanded to bf16 by ggml_cast (q4_0, q8_0, q4_K, q6_K; seen through a
//   cast back to f32) against ggml-cpu's dequantization rounded to bf16, within one bf16 rounding;
// - patches 0010-0015, a LoRA module's products: add = acc + dropout(out_prod(A, u^T)) (its input's
//   gradient, one f32 kernel when r <= 32), the forward A x (patch 0011's f32 kernel when r <= 32 and
//   there are more tokens than r; with the dropout of x read by it alone, patch 0015's fused kernel) and
//   B (A x) (patch 0014's, r <= 32), and A's and B's gradients onto their
//   accumulators (patch 0012's f32 kernel when r <= 32; A's also from a dropout of x read by it alone,
//   patch 0019's fused kernel) within 1e-5, which a tf32 product would miss; u's
//   gradient B^T g (cuBLAS in tf32), and the r = 33 and unfused cases (GGML_CUDA_DISABLE_FUSION=1), within
//   3e-3; in place (onto a node, as a gradient summed so far) and not, widths to 11008, r 1-33, T 1-1030;
// - patch 0016, masked soft-max and its backward (the rows kernels and ggml's), patch 0017, SwiGLU's backward
//   pass, within 1e-5; patch 0018, frozen products of one activation bit for bit as computed alone;
// - patch 0020, rope forward and backward within 2e-4, the SwiGLU forward within 1e-5, adds and muls bit for bit.
// Built and run by scripts/gpu-check.sh after the CUDA build (twice: fused, and fusion off).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <thread>
#include <vector>

#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggml-cuda.h"
#include "ggml.h"

namespace {

struct Input {
    ggml_tensor * t;
    std::vector<char> data;
};

// Builds the graph with `build` (its inputs: tensors it adds to `inputs`), computes it on the
// backend and returns the output's values.
std::vector<float> run(ggml_backend_t backend, const std::function<ggml_tensor *(ggml_context *, std::vector<Input> &)> & build) {
    ggml_init_params ip = {ggml_tensor_overhead() * 16 + ggml_graph_overhead(), nullptr, true};
    ggml_context * ctx = ggml_init(ip);
    std::vector<Input> inputs;
    ggml_tensor * out = build(ctx, inputs);
    ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, out);
    ggml_gallocr_t galloc = ggml_gallocr_new(ggml_backend_get_default_buffer_type(backend));
    if (!ggml_gallocr_alloc_graph(galloc, gf)) std::abort();
    for (Input & in : inputs) ggml_backend_tensor_set(in.t, in.data.data(), 0, in.data.size());
    if (ggml_backend_graph_compute(backend, gf) != GGML_STATUS_SUCCESS) std::abort();
    std::vector<float> v((size_t) ggml_nelements(out));
    ggml_backend_tensor_get(out, v.data(), 0, v.size() * sizeof(float));
    ggml_gallocr_free(galloc);
    ggml_free(ctx);
    return v;
}

template <typename T>
ggml_tensor * input(ggml_context * ctx, std::vector<Input> & inputs, ggml_type type, int64_t ne0, int64_t ne1, const std::vector<T> & v) {
    ggml_tensor * t = ggml_new_tensor_2d(ctx, type, ne0, ne1);
    ggml_set_input(t);
    Input in{t, std::vector<char>(v.size() * sizeof(T))};
    std::memcpy(in.data.data(), v.data(), in.data.size());
    inputs.push_back(std::move(in));
    return t;
}

// the largest difference over the largest magnitude of want (NaN when got has one)
double max_rel_error(const std::vector<float> & want, const std::vector<float> & got) {
    double err = 0, scale = 0;
    for (size_t i = 0; i < want.size(); ++i) {
        const double d = std::fabs((double) want[i] - got[i]);
        if (!(d <= err)) err = d;  // a NaN sticks (fmax would drop it)
        scale = std::fmax(scale, std::fabs((double) want[i]));
    }
    return err / scale;
}

}  // namespace

int main() {
    ggml_backend_t cpu = ggml_backend_cpu_init(), cuda = ggml_backend_cuda_init(0);
    if (cpu) ggml_backend_cpu_set_n_threads(cpu, (int) std::max(1u, std::thread::hardware_concurrency()));
    if (!cpu || !cuda) {
        std::printf("cuda check: no CUDA device\n");
        return 1;
    }
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    int cases = 0;
    for (int64_t ncols : {64, 300, 4096}) {
        for (int64_t n_grad : {1, 255, 256, 257, 900, 2100}) {
            for (int64_t n_dst : {3, 1024}) {
                for (bool unique : {false, true}) {
                    if (unique && n_grad > n_dst) continue;
                    std::vector<float> g((size_t) (ncols * n_grad));
                    for (float & v : g) v = normal(rng);
                    std::vector<int32_t> rows((size_t) n_grad);
                    for (int64_t i = 0; i < n_grad; ++i) rows[i] = unique ? (int32_t) (i * n_dst / n_grad) : (int32_t) (rng() % n_dst);
                    auto build = [&](ggml_context * ctx, std::vector<Input> & in) {
                        ggml_tensor * shape = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, ncols, n_dst);
                        return ggml_get_rows_back(ctx, input(ctx, in, GGML_TYPE_F32, ncols, n_grad, g),
                                                  input(ctx, in, GGML_TYPE_I32, n_grad, 1, rows), shape);
                    };
                    const std::vector<float> want = run(cpu, build), got = run(cuda, build);
                    cases++;
                    if (std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) != 0) {
                        std::printf("cuda check: get_rows_back ncols=%lld n_grad=%lld n_dst=%lld unique=%d differs from the CPU\n",
                                    (long long) ncols, (long long) n_grad, (long long) n_dst, (int) unique);
                        return 1;
                    }
                }
            }
        }
    }
    double worst = 0;
    for (int64_t n_vocab : {100, 32000, 60000}) {  // 60000 floats are more than the shared-memory copy holds
        for (int64_t n_rows : {1, 7, 1024}) {
            std::vector<float> logits((size_t) (n_vocab * n_rows)), labels(logits.size(), 0.0f), seed = {0.37f};
            for (float & v : logits) v = 3 * normal(rng);
            for (int64_t r = 0; r < n_rows; ++r) labels[(size_t) (r * n_vocab + rng() % n_vocab)] = 1.0f;
            for (bool back : {false, true}) {
                auto build = [&](ggml_context * ctx, std::vector<Input> & in) {
                    ggml_tensor * a = input(ctx, in, GGML_TYPE_F32, n_vocab, n_rows, logits);
                    ggml_tensor * b = input(ctx, in, GGML_TYPE_F32, n_vocab, n_rows, labels);
                    // the backward's operands: dL/d(loss), logits, labels (ggml.h names them otherwise)
                    return back ? ggml_cross_entropy_loss_back(ctx, input(ctx, in, GGML_TYPE_F32, 1, 1, seed), a, b)
                                : ggml_cross_entropy_loss(ctx, a, b);
                };
                const std::vector<float> want = run(cpu, build), got = run(cuda, build);
                const double rel = max_rel_error(want, got);
                worst = std::fmax(worst, rel);
                cases++;
                if (!(rel <= 1e-5)) {
                    std::printf("cuda check: cross_entropy_loss%s n_vocab=%lld n_rows=%lld: max rel error %.3g\n", back ? "_back" : "",
                                (long long) n_vocab, (long long) n_rows, rel);
                    return 1;
                }
            }
        }
    }
    double worst_cast = 0;
    for (ggml_type type : {GGML_TYPE_Q4_0, GGML_TYPE_Q8_0, GGML_TYPE_Q4_K, GGML_TYPE_Q6_K}) {
        const int64_t ne0 = 512, ne1 = 37;
        std::vector<float> w((size_t) (ne0 * ne1));
        for (float & v : w) v = normal(rng);
        std::vector<char> q(ggml_row_size(type, ne0) * ne1);
        ggml_quantize_chunk(type, w.data(), q.data(), 0, ne1, ne0, nullptr);
        auto expand = [&](bool on_cuda) {
            return [&, on_cuda](ggml_context * ctx, std::vector<Input> & in) {
                ggml_tensor * t = input(ctx, in, type, ne0, ne1, q);
                // the CPU has no quantized -> bf16 copy: it dequantizes to f32, then rounds to bf16
                ggml_tensor * b = on_cuda ? ggml_cast(ctx, t, GGML_TYPE_BF16) : ggml_cast(ctx, ggml_cast(ctx, t, GGML_TYPE_F32), GGML_TYPE_BF16);
                return ggml_cast(ctx, b, GGML_TYPE_F32);
            };
        };
        const std::vector<float> want = run(cpu, expand(false)), got = run(cuda, expand(true));
        const double rel = max_rel_error(want, got);
        worst_cast = std::fmax(worst_cast, rel);
        cases++;
        if (!(rel <= 1.0 / 128)) {  // bf16 keeps 8 bits: two roundings of one f32 ulp apart differ by at most one bf16 ulp
            std::printf("cuda check: %s -> bf16 cast: max rel error %.3g\n", ggml_type_name(type), rel);
            return 1;
        }
    }
    // patch 0016: soft-max of attention scores (L_k, L_q, heads, rows) with a mask (L_k, L_q, 1, rows), and its
    // backward, against the CPU within 1e-5 (the rows kernels for 128-1024 columns; 100 and 2048 take ggml's)
    double worst_soft_max = 0;
    for (int64_t L : {100, 128, 256, 1024, 2048}) {
        const int64_t n_head = 3, rows = 2;
        std::vector<float> kq((size_t) (L * L * n_head * rows)), grad(kq.size()), mask((size_t) (L * L * rows), 0.0f);
        for (float & v : kq) v = 4 * normal(rng);
        for (float & v : grad) v = normal(rng);
        for (int64_t r = 0; r < rows; ++r) {  // causal, and row 1 packs two samples
            for (int64_t q = 0; q < L; ++q) {
                const int64_t first = r == 1 && q >= L / 2 ? L / 2 : 0;
                for (int64_t k = 0; k < L; ++k) mask[(size_t) ((r * L + q) * L + k)] = k >= first && k <= q ? 0.0f : -INFINITY;
            }
        }
        for (bool back : {false, true}) {
            auto build = [&](ggml_context * ctx, std::vector<Input> & in) {
                auto t4 = [&](const std::vector<float> & v, int64_t heads) {
                    return ggml_reshape_4d(ctx, input(ctx, in, GGML_TYPE_F32, L, L * heads * rows, v), L, L, heads, rows);
                };
                ggml_tensor * y = ggml_soft_max_ext(ctx, t4(kq, n_head), t4(mask, 1), 0.088f, 0.0f);
                // the gradient a node, as in training, so that the allocator computes the backward in place of it:
                // ggml-cpu's kernel (it copies dy into dx, then multiplies by y) needs dx not to be y
                return back ? ggml_soft_max_ext_back(ctx, ggml_scale(ctx, t4(grad, n_head), 1.0f), y, 0.088f, 0.0f) : y;
            };
            const std::vector<float> want = run(cpu, build), got = run(cuda, build);
            const double rel = max_rel_error(want, got);
            worst_soft_max = std::fmax(worst_soft_max, rel);
            cases++;
            if (!(rel <= 1e-5)) {
                std::printf("cuda check: soft_max%s L=%lld: max rel error %.3g\n", back ? "_back" : "", (long long) L, rel);
                return 1;
            }
        }
    }
    // patch 0017: SwiGLU's backward pass as ggml.c builds it (mul, silu_back, silu, mul; one kernel when fused),
    // against the CPU within 1e-5, odd sizes (no 16-byte loads) and not
    double worst_swiglu = 0;
    for (int64_t n : {11008 * 17, 1001 * 3}) {
        std::vector<float> gate((size_t) n), up((size_t) n), g((size_t) n);
        for (std::vector<float> * v : {&gate, &up, &g}) for (float & e : *v) e = 3 * normal(rng);
        auto build = [&](ggml_context * ctx, std::vector<Input> & in) {
            ggml_tensor * tg = input(ctx, in, GGML_TYPE_F32, n, 1, g), * tx = input(ctx, in, GGML_TYPE_F32, n, 1, gate);
            ggml_tensor * tu = input(ctx, in, GGML_TYPE_F32, n, 1, up);
            ggml_tensor * dgate = ggml_silu_back(ctx, ggml_mul(ctx, tg, tu), tx);
            ggml_tensor * dup = ggml_mul(ctx, ggml_silu(ctx, tx), tg);
            return ggml_concat(ctx, dgate, dup, 1);
        };
        const std::vector<float> want = run(cpu, build), got = run(cuda, build);
        const double rel = max_rel_error(want, got);
        worst_swiglu = std::fmax(worst_swiglu, rel);
        cases++;
        if (!(rel <= 1e-5)) {
            std::printf("cuda check: SwiGLU backward n=%lld: max rel error %.3g\n", (long long) n, rel);
            return 1;
        }
    }
    // patch 0020: rope (normal and NeoX, forward and backward; rows of 32-64 pairs several a block, row counts that
    // are not a multiple of four) within 2e-4 (ggml-cpu makes each angle by repeated products, CUDA by powf: at
    // positions to 252 they part by up to ~4e-5 rad), the SwiGLU forward within 1e-5 (ggml-cpu's exp is not CUDA's),
    // add and mul of one shape or a row broadcast (the 16-byte paths, and an odd width for the others) bit for bit
    double worst_rope = 0;
    for (int64_t hd : {64, 80, 128}) {
        for (int64_t heads : {3, 32}) {
            for (int64_t T : {7, 33}) {
                std::vector<float> x((size_t) (hd * heads * T));
                for (float & v : x) v = normal(rng);
                std::vector<int32_t> pos((size_t) T);
                for (int64_t t = 0; t < T; ++t) pos[(size_t) t] = (int32_t) (t * 7 % 256);
                for (int mode : {0, GGML_ROPE_TYPE_NEOX}) {
                    for (bool back : {false, true}) {
                        auto build = [&](ggml_context * ctx, std::vector<Input> & in) {
                            ggml_tensor * a = ggml_reshape_3d(ctx, input(ctx, in, GGML_TYPE_F32, hd, heads * T, x), hd, heads, T);
                            ggml_tensor * p = input(ctx, in, GGML_TYPE_I32, T, 1, pos);
                            return back ? ggml_rope_ext_back(ctx, a, p, nullptr, (int) hd, mode, 4096, 10000.0f, 1.0f, 0.0f, 1.0f, 32.0f, 1.0f)
                                        : ggml_rope_ext(ctx, a, p, nullptr, (int) hd, mode, 4096, 10000.0f, 1.0f, 0.0f, 1.0f, 32.0f, 1.0f);
                        };
                        const std::vector<float> want = run(cpu, build), got = run(cuda, build);
                        const double rel = max_rel_error(want, got);
                        worst_rope = std::fmax(worst_rope, rel);
                        cases++;
                        if (!(rel <= 2e-4)) {
                            std::printf("cuda check: rope%s mode=%d hd=%lld heads=%lld T=%lld: max rel error %.3g\n", back ? "_back" : "", mode,
                                        (long long) hd, (long long) heads, (long long) T, rel);
                            return 1;
                        }
                    }
                }
            }
        }
    }
    for (int64_t n0 : {4096, 1001}) {
        const int64_t n1 = 37;
        std::vector<float> a((size_t) (n0 * n1)), b(a.size()), w((size_t) n0);
        for (std::vector<float> * v : {&a, &b, &w}) for (float & e : *v) e = 3 * normal(rng);
        for (int k = 0; k < 5; ++k) {  // add, mul, the row-broadcast add and mul, SwiGLU
            auto build = [&](ggml_context * ctx, std::vector<Input> & in) {
                ggml_tensor * ta = input(ctx, in, GGML_TYPE_F32, n0, n1, a);
                ggml_tensor * tb = k < 2 || k == 4 ? input(ctx, in, GGML_TYPE_F32, n0, n1, b) : input(ctx, in, GGML_TYPE_F32, n0, 1, w);
                return k == 4 ? ggml_swiglu_split(ctx, ta, tb) : k % 2 == 0 ? ggml_add(ctx, ta, tb) : ggml_mul(ctx, ta, tb);
            };
            const std::vector<float> want = run(cpu, build), got = run(cuda, build);
            cases++;
            if (k == 4) {
                const double rel = max_rel_error(want, got);
                worst_swiglu = std::fmax(worst_swiglu, rel);
                if (!(rel <= 1e-5)) {
                    std::printf("cuda check: SwiGLU n0=%lld: max rel error %.3g\n", (long long) n0, rel);
                    return 1;
                }
            } else if (std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) != 0) {
                std::printf("cuda check: %s%s n0=%lld differs from the CPU\n", k % 2 == 0 ? "add" : "mul", k >= 2 ? " (row broadcast)" : "",
                            (long long) n0);
                return 1;
            }
        }
    }
    // patch 0018: frozen q4_K products onto LoRA deltas, two reading one activation (its bf16 conversion shared) and
    // two reading different ones of one shape, each bit for bit as when computed alone (a conversion of its own)
    {
        const int64_t K = 512, N = 256, T = 300;
        std::vector<float> w((size_t) (K * N)), x1((size_t) (K * T)), x2(x1.size()), d1((size_t) (N * T)), d2(d1.size());
        for (std::vector<float> * v : {&w, &x1, &x2, &d1, &d2}) for (float & e : *v) e = normal(rng);
        std::vector<char> q(ggml_row_size(GGML_TYPE_Q4_K, K) * N);
        ggml_quantize_chunk(GGML_TYPE_Q4_K, w.data(), q.data(), 0, N, K, nullptr);
        auto product = [&](ggml_context * ctx, std::vector<Input> & in, ggml_tensor * x, const std::vector<float> & d) {
            ggml_tensor * y = ggml_mul_mat(ctx, input(ctx, in, GGML_TYPE_Q4_K, K, N, q), x);
            ggml_mul_mat_set_prec(y, GGML_PREC_F32);
            return ggml_add(ctx, input(ctx, in, GGML_TYPE_F32, N, T, d), y);
        };
        for (bool same : {true, false}) {
            const std::vector<float> & xb = same ? x1 : x2;
            const std::vector<float> both = run(cuda, [&](ggml_context * ctx, std::vector<Input> & in) {
                ggml_tensor * a = input(ctx, in, GGML_TYPE_F32, K, T, x1);
                ggml_tensor * b = same ? a : input(ctx, in, GGML_TYPE_F32, K, T, xb);
                ggml_tensor * ya = product(ctx, in, a, d1);
                return ggml_concat(ctx, ya, product(ctx, in, b, d2), 1);
            });
            std::vector<float> alone = run(cuda, [&](ggml_context * ctx, std::vector<Input> & in) {
                return product(ctx, in, input(ctx, in, GGML_TYPE_F32, K, T, x1), d1);
            });
            const std::vector<float> second = run(cuda, [&](ggml_context * ctx, std::vector<Input> & in) {
                return product(ctx, in, input(ctx, in, GGML_TYPE_F32, K, T, xb), d2);
            });
            alone.insert(alone.end(), second.begin(), second.end());
            cases++;
            if (both.size() != alone.size() || std::memcmp(both.data(), alone.data(), both.size() * sizeof(float)) != 0) {
                std::printf("cuda check: two frozen products of %s activation differ from each computed alone\n", same ? "one" : "two");
                return 1;
            }
        }
    }
    const bool fusion = std::getenv("GGML_CUDA_DISABLE_FUSION") == nullptr;
    // the LoRA products of a module with A (n_in, r), B (r, n_out) (n_out = n_in here), input x, u = A x and
    // the output's gradient g (n_out, T); the sums run onto a gradient accumulated so far, in place or not
    enum Product { kInputGrad, kGradA, kGradDropA, kGradB, kGradU, kAx, kDropAx, kBu, kProducts };
    const char * names[kProducts] = {"input gradient", "A gradient", "A gradient from dropout(x)", "B gradient", "u gradient",
                                     "A x", "A dropout(x)", "B u"};
    double worst_lora = 0;
    for (int64_t n_in : {64, 4096, 11008}) {
        for (int64_t r : {1, 8, 16, 32, 33}) {
            for (int64_t T : {1, 17, 1030}) {
                std::vector<float> a((size_t) (n_in * r)), u((size_t) (r * T)), x((size_t) (n_in * T)), acc(x.size()), acc_a(a.size());
                for (std::vector<float> * v : {&a, &u, &x, &acc, &acc_a}) for (float & e : *v) e = normal(rng);
                for (int k = 0; k < kProducts; ++k) {
                    for (int inplace = 0; inplace < (k == kGradU || k == kAx || k == kDropAx || k == kBu ? 1 : 2); ++inplace) {
                        auto build = [&](ggml_context * ctx, std::vector<Input> & in) -> ggml_tensor * {
                            auto onto = [&](ggml_tensor * gacc, ggml_tensor * p) {
                                return inplace ? ggml_add_inplace(ctx, ggml_scale(ctx, gacc, 1.0f), p) : ggml_add(ctx, gacc, p);
                            };
                            auto gu = [&] { return input(ctx, in, GGML_TYPE_F32, r, T, u); };
                            // the masks' key: the node's seed plus a key tensor's value, read on the device as it runs
                            auto key = [&](int64_t k) { return input(ctx, in, GGML_TYPE_I64, 1, 1, std::vector<int64_t>{k}); };
                            switch ((Product) k) {
                                case kInputGrad: {  // acc + dropout(A (u^T)^T), (n_in, T)
                                    ggml_tensor * ga = input(ctx, in, GGML_TYPE_F32, n_in, r, a);
                                    ggml_tensor * d = ggml_dropout(ctx, ggml_out_prod(ctx, ga, ggml_transpose(ctx, gu())), 0.05f, 1.0f / 0.95f, 12345, key(-7));
                                    return onto(input(ctx, in, GGML_TYPE_F32, n_in, T, acc), d);
                                }
                                case kGradA:  // acc + x u^T, (n_in, r)
                                    return onto(input(ctx, in, GGML_TYPE_F32, n_in, r, acc_a),
                                                ggml_out_prod(ctx, input(ctx, in, GGML_TYPE_F32, n_in, T, x), gu()));
                                case kGradDropA:  // acc + dropout(x) u^T, (n_in, r): the dropout read by the product alone
                                    return onto(input(ctx, in, GGML_TYPE_F32, n_in, r, acc_a),
                                                ggml_out_prod(ctx, ggml_dropout(ctx, input(ctx, in, GGML_TYPE_F32, n_in, T, x), 0.05f,
                                                                                1.0f / 0.95f, 4242, key(1ll << 40)),
                                                              gu()));
                                case kGradB:  // acc + u g^T, (r, n_out), g = x
                                    return onto(input(ctx, in, GGML_TYPE_F32, r, n_in, acc_a),
                                                ggml_out_prod(ctx, gu(), input(ctx, in, GGML_TYPE_F32, n_in, T, x)));
                                case kGradU:  // B^T g, (r, T), B = a seen as (r, n_out)
                                    return ggml_out_prod(ctx, input(ctx, in, GGML_TYPE_F32, r, n_in, a),
                                                         ggml_transpose(ctx, input(ctx, in, GGML_TYPE_F32, n_in, T, x)));
                                case kAx:  // A x, (r, T)
                                    return ggml_mul_mat(ctx, input(ctx, in, GGML_TYPE_F32, n_in, r, a), input(ctx, in, GGML_TYPE_F32, n_in, T, x));
                                case kDropAx:  // A dropout(x), (r, T): the dropout read by the product alone
                                    return ggml_mul_mat(ctx, input(ctx, in, GGML_TYPE_F32, n_in, r, a),
                                                        ggml_dropout(ctx, input(ctx, in, GGML_TYPE_F32, n_in, T, x), 0.05f, 1.0f / 0.95f, 777, key(99)));
                                default:  // B u, (n_out, T), B = a seen as (r, n_out)
                                    return ggml_mul_mat(ctx, input(ctx, in, GGML_TYPE_F32, r, n_in, a), gu());
                            }
                        };
                        const std::vector<float> want = run(cpu, build), got = run(cuda, build);
                        const double rel = max_rel_error(want, got);
                        // f32 where our kernels take the product (the fused input gradient; mul-mat-narrow.cu), tf32 (cuBLAS) elsewhere
                        const bool f32 = r <= 32 && (k == kInputGrad ? fusion : k == kAx || k == kDropAx ? T > r : k == kGradA || k == kGradDropA || k == kGradB || k == kBu);
                        const double tol = f32 ? 1e-5 : 3e-3;
                        worst_lora = std::fmax(worst_lora, rel);
                        cases++;
                        if (!(rel <= tol)) {
                            std::printf("cuda check: LoRA %s n_in=%lld r=%lld T=%lld inplace=%d: max rel error %.3g (tolerance %.0e)\n",
                                        names[k], (long long) n_in, (long long) r, (long long) T, inplace, rel, tol);
                            return 1;
                        }
                    }
                }
            }
        }
    }
    std::printf("cuda check (fusion %s): %d cases, get_rows_back bit for bit, cross-entropy max rel error %.3g, bf16 casts %.3g, "
                "soft-max %.3g, SwiGLU %.3g, rope %.3g, LoRA products %.3g, vs the CPU; adds, muls and frozen products sharing "
                "an input bit for bit\n", fusion ? "on" : "off", cases, worst, worst_cast, worst_soft_max, worst_swiglu, worst_rope,
                worst_lora);
    ggml_backend_free(cuda);
    ggml_backend_free(cpu);
    return 0;
}
