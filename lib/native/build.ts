// A source build of the addon on demand (`tang-lora build`): scripts/build-addon.mjs, as
// `npm install` runs it, with TANG_LORA_BUILD_FROM_SOURCE=1 so it builds even where a prebuilt
// package is installed. Needs git, CMake, a C++17 compiler (and nvcc with cuBLAS for CUDA).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../package-root.js';


/** Rebuilds build/Release/tang_lora.node from source; `cuda`: true requires CUDA, false forbids it, unset finds out. */
export function buildFromSource({ cuda }: { cuda?: boolean } = {}): Promise<void> {
  const env = { ...process.env, TANG_LORA_BUILD_FROM_SOURCE: '1', ...(cuda === undefined ? {} : { TANG_LORA_CUDA: cuda ? '1' : '0' }) };
  const child = spawn(process.execPath, [path.join(packageRoot, 'scripts', 'build-addon.mjs'), '--force'], { cwd: packageRoot, env, stdio: 'inherit' });
  return new Promise((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`the source build failed (exit ${code}); see its output above`)))),
  );
}
