#!/usr/bin/env bash
# The cuda13 platform package on a GPU machine: builds it (npm run prebuild; a build interrupted
# by a time limit resumes from build/prebuild-cuda13 when run again), installs it into this
# checkout's node_modules without any source build beside it, and runs the whole suite with it,
# the loader choosing it by itself (test/prebuilt.test.ts also installs it into a fresh project).
# Offline, unpack scripts/offline-bundle.sh's two archives first; its npm cache feeds the
# fresh-project install. The full architecture list takes ~25 min on 16 cores;
#   CMAKE_CUDA_ARCHITECTURES=90 scripts/gpu-prebuilt.sh    # one architecture, ~5 min
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/prebuilt-packages
node scripts/prebuild.mjs --variant cuda13 --out "$out" | tail -1
dest=node_modules/@tang-lora/linux-x64-cuda13
rm -rf "$dest" build/Release && mkdir -p "$dest"
tar xzf "$out/tang-lora-linux-x64-cuda13-$(node -p "require('./package.json').version").tgz" --strip-components=1 -C "$dest"
node dist/lib/cli/main.js info | head -1
[ -d .carry/npm-cache ] && export TANG_LORA_TEST_NPM_CACHE=.carry/npm-cache
TANG_LORA_DEVICE=cuda TANG_LORA_EXPECT_CUDA=1 npm test
