// The tiny base models the parity fixtures were computed on: made by create-model from a
// fixed seed (2 layers, d=64, 4 heads / 2 kv heads, the real 32000-token Llama-2 vocabulary),
// in f32, q8_0 and q4_0. test/reference/make_fixtures.py reads these files (gguf-py
// dequantizes them) and records each file's sha256, which the tests check before comparing.
//   node dist/test/helpers/fixture-models.js <dir>   writes them for the reference script
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModel, openTrainer } from '../../lib/index.js';

export const FIXTURE_TYPES = ['f32', 'q8_0', 'q4_0'] as const;
export type FixtureType = (typeof FIXTURE_TYPES)[number];
export const FIXTURE_SEED = 7;

export async function makeFixtureModel(dir: string, type: FixtureType): Promise<string> {
  const file = path.join(dir, `tiny-${type}.gguf`);
  if (!fs.existsSync(file)) await createModel(file, { shape: 'tiny', type, seed: FIXTURE_SEED });
  return file;
}

/** An adapter trained for a wider base (d=128, the tiny shape otherwise): one the tiny models must refuse. */
export async function foreignAdapter(dir: string): Promise<string> {
  const file = path.join(dir, 'foreign.gguf');
  if (fs.existsSync(file)) return file;
  const wide = path.join(dir, 'wide.gguf');
  await createModel(wide, { shape: 'tiny', nEmbd: 128, nFf: 256, seed: 3 });
  const t = await openTrainer(wide, { rank: 4 }, { device: 'cpu' });
  await t.saveAdapter(file);
  await t.dispose();
  return file;
}

export function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? '.';
  fs.mkdirSync(dir, { recursive: true });
  for (const t of FIXTURE_TYPES) console.log(await makeFixtureModel(dir, t));
}
