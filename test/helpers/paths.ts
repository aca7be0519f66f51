// What the tests share: the repo root, the CLI entry point, a scratch folder per test file, the device.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const cliPath = path.join(repoRoot, 'dist', 'lib', 'cli', 'main.js');

export function scratchDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tang-lora-${name}-`));
}

/** The device the suite runs on (TANG_LORA_DEVICE, default cpu). */
export const device = process.env.TANG_LORA_DEVICE ?? 'cpu';

/** True when the GPU self-test asked for CUDA: tests must then prove CUDA was used. */
export const expectCuda = process.env.TANG_LORA_EXPECT_CUDA === '1';
