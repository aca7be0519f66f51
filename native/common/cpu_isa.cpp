// The x86 instruction-set extensions ggml's CPU backend was compiled to use, as /proc/cpuinfo
// names them. CMakeLists.txt compiles this file with ggml-cpu's own -m/-march flags, so the
// compiler's predefined macros here are the ones that backend saw. Data only: no code in this
// file runs, so reading the list is safe on any CPU (the loader checks it before loading us).
// AMX is left out on purpose: its kernels run only after a run-time check (patch 0006).
#include "system_info.h"

namespace tang {

extern const char kCompiledCpuIsa[] = ""
#if defined(__x86_64__) || defined(_M_X64)
#ifdef __SSE3__
    " pni"
#endif
#ifdef __SSSE3__
    " ssse3"
#endif
#ifdef __SSE4_1__
    " sse4_1"
#endif
#ifdef __SSE4_2__
    " sse4_2"
#endif
#ifdef __AVX__
    " avx"
#endif
#ifdef __AVX2__
    " avx2"
#endif
#ifdef __FMA__
    " fma"
#endif
#ifdef __F16C__
    " f16c"
#endif
#ifdef __BMI__
    " bmi1"
#endif
#ifdef __BMI2__
    " bmi2"
#endif
#ifdef __AVXVNNI__
    " avx_vnni"
#endif
#ifdef __AVX512F__
    " avx512f"
#endif
#ifdef __AVX512CD__
    " avx512cd"
#endif
#ifdef __AVX512BW__
    " avx512bw"
#endif
#ifdef __AVX512DQ__
    " avx512dq"
#endif
#ifdef __AVX512VL__
    " avx512vl"
#endif
#ifdef __AVX512IFMA__
    " avx512ifma"
#endif
#ifdef __AVX512VBMI__
    " avx512vbmi"
#endif
#ifdef __AVX512VBMI2__
    " avx512_vbmi2"
#endif
#ifdef __AVX512VNNI__
    " avx512_vnni"
#endif
#ifdef __AVX512BITALG__
    " avx512_bitalg"
#endif
#ifdef __AVX512VPOPCNTDQ__
    " avx512_vpopcntdq"
#endif
#ifdef __AVX512BF16__
    " avx512_bf16"
#endif
#ifdef __AVX512FP16__
    " avx512_fp16"
#endif
#ifdef __GFNI__
    " gfni"
#endif
#ifdef __VAES__
    " vaes"
#endif
#ifdef __VPCLMULQDQ__
    " vpclmulqdq"
#endif
#endif
    ;

}  // namespace tang
