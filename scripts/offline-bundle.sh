#!/usr/bin/env bash
# Packs what a machine without network access needs to build and test this checkout:
# the vendored llama.cpp tree (without .git and the ggml backends we never build), the
# runtime node_modules (no TypeScript; of chinese-poetry only the Tang poems the corpus tests
# read) and the compiled dist/. Writes .carry/offline.tar.xz
# (git-ignored). Unpack it in the project root there: tar xJf .carry/offline.tar.xz
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f native/vendor/llama.cpp.stamp.json ] && [ -d dist ] || { echo "run npm install first" >&2; exit 1; }
mkdir -p .carry
skip=(et vulkan metal sycl opencl cann musa hip webgpu kompute rpc blas zdnn hexagon openvino virtgpu zendnn)
excludes=(--exclude=native/vendor/llama.cpp/.git --exclude=node_modules/typescript --exclude=node_modules/chinese-poetry)
for b in "${skip[@]}"; do excludes+=(--exclude="native/vendor/llama.cpp/ggml/src/ggml-$b"); done
tar cf .carry/offline.tar "${excludes[@]}" native/vendor/llama.cpp native/vendor/llama.cpp.stamp.json node_modules dist
[ -f node_modules/chinese-poetry/package.json ] &&
  tar rf .carry/offline.tar node_modules/chinese-poetry/package.json node_modules/chinese-poetry/dist/quantangshi/poet.tang.*.json
xz -T2 -6 -f .carry/offline.tar
du -h .carry/offline.tar.xz
