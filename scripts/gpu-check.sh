#!/usr/bin/env bash
# GPU self-test for a Linux CUDA machine: builds the CUDA variant of the addon and runs the
# whole test suite with the CUDA backend selected. Fails if CUDA is not actually used
# (the tests assert the CUDA device is listed and, from the engine on, that no graph node
# runs on the CPU backend). Run after `npm install` (or, offline, after unpacking
# scripts/offline-bundle.sh's archive).
#   CMAKE_CUDA_ARCHITECTURES=90 scripts/gpu-check.sh    # narrow the build to one architecture
set -euo pipefail
cd "$(dirname "$0")/.."
export TANG_LORA_CUDA=1
start=$(date +%s)
node scripts/build-addon.mjs
echo "gpu-check: CUDA build (${CMAKE_CUDA_ARCHITECTURES:-80;86;89;90}) took $(( $(date +%s) - start )) s"
node -e "import('./dist/lib/native/binding.js').then(m => { if (!m.addon().build.cuda) { console.error('gpu-check: the addon was not built with CUDA'); process.exit(1); } })"
# our CUDA kernels against float64 CPU references and ggml-cpu (native/dev)
ggml=native/vendor/llama.cpp/ggml libs=build/cmake/llama.cpp/ggml/src
arch=${CMAKE_CUDA_ARCHITECTURES:-90}; arch=${arch%%;*}; arch=${arch%%-*}
nvcc -std=c++17 -O2 -arch="sm_$arch" -I$ggml/include -I$ggml/src -I$ggml/src/ggml-cuda -o build/mul_mat_narrow_check \
  native/dev/mul_mat_narrow_check.cu $libs/ggml-cuda/libggml-cuda.a $libs/libggml-base.a -lcublas -lcuda
build/mul_mat_narrow_check
nvcc -std=c++17 -O2 -I$ggml/include -o build/cuda_vs_cpu_check native/dev/cuda_vs_cpu_check.cpp \
  $libs/ggml-cuda/libggml-cuda.a $libs/libggml-cpu.a $libs/libggml-base.a -lcublas -lcuda -Xcompiler -fopenmp -lgomp -ldl
build/cuda_vs_cpu_check
GGML_CUDA_DISABLE_FUSION=1 build/cuda_vs_cpu_check
TANG_LORA_DEVICE=cuda TANG_LORA_EXPECT_CUDA=1 npm test
