#!/usr/bin/env bash
# Packs what a machine without network access needs to build and test this checkout:
# the vendored llama.cpp tree (without .git and the ggml backends we never build), the
# runtime node_modules (no TypeScript; no chinese-poetry: the corpus tests are CPU-only JS)
# and the compiled dist/. Writes .carry/offline.tar.xz
# (git-ignored). Unpack it in the project root there: tar xJf .carry/offline.tar.xz
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f native/vendor/llama.cpp.stamp.json ] && [ -d dist ] || { echo "run npm install first" >&2; exit 1; }
mkdir -p .carry
skip=(et vulkan metal sycl opencl cann musa hip webgpu kompute rpc blas zdnn hexagon openvino virtgpu zendnn)
excludes=(--exclude=native/vendor/llama.cpp/.git --exclude=node_modules/typescript --exclude=node_modules/chinese-poetry)
for b in "${skip[@]}"; do excludes+=(--exclude="native/vendor/llama.cpp/ggml/src/ggml-$b"); done
tar cf - "${excludes[@]}" native/vendor/llama.cpp native/vendor/llama.cpp.stamp.json node_modules dist \
  | xz -T2 -6 > .carry/offline.tar.xz
du -h .carry/offline.tar.xz
