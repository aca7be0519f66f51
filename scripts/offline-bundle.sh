#!/usr/bin/env bash
# Packs what a machine without network access needs to build and test this checkout:
# the vendored llama.cpp tree (without .git and the ggml backends we never build), the
# node_modules (TypeScript too: `npm pack` compiles; of chinese-poetry only the Tang poems the
# corpus tests read) and the compiled dist/. Writes .carry/offline.tar.xz (git-ignored), and
# .carry/npm-cache.tar.xz: npm's cache of the registry dependencies, for the prebuilt install test.
# Unpack them in the project root there: tar xJf .carry/offline.tar.xz; tar xJf .carry/npm-cache.tar.xz
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f native/vendor/llama.cpp.stamp.json ] && [ -d dist ] || { echo "run npm install first" >&2; exit 1; }
mkdir -p .carry
skip=(et vulkan metal sycl opencl cann musa hip webgpu kompute rpc blas zdnn hexagon openvino virtgpu zendnn)
# (the tokenizer test packages' source maps and browser bundles are tens of MiB and never read)
excludes=(--exclude=native/vendor/llama.cpp/.git --exclude=node_modules/chinese-poetry --exclude='node_modules/@lenml/*.map' --exclude='node_modules/@lenml/*.global.js' --exclude='node_modules/@lenml/*/src')
for b in "${skip[@]}"; do excludes+=(--exclude="native/vendor/llama.cpp/ggml/src/ggml-$b"); done
tar cf .carry/offline.tar "${excludes[@]}" native/vendor/llama.cpp native/vendor/llama.cpp.stamp.json node_modules dist
[ -f node_modules/chinese-poetry/package.json ] &&
  tar rf .carry/offline.tar node_modules/chinese-poetry/package.json node_modules/chinese-poetry/dist/quantangshi/poet.tang.*.json
xz -T2 -6 -f .carry/offline.tar
# the registry packages that an install of tang-lora's own tarball fetches, into a fresh cache
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
npm pack --silent --pack-destination "$tmp" > /dev/null
mkdir "$tmp/p" && echo '{"name":"p","version":"1.0.0","private":true}' > "$tmp/p/package.json"
rm -rf .carry/npm-cache
(cd "$tmp/p" && npm install --silent --ignore-scripts --no-audit --no-fund --cache "$OLDPWD/.carry/npm-cache" "$tmp"/tang-lora-*.tgz)
tar cJf .carry/npm-cache.tar.xz .carry/npm-cache && rm -rf .carry/npm-cache
du -h .carry/offline.tar.xz .carry/npm-cache.tar.xz
