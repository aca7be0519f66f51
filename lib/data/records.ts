// Training and test records: a JSON array or JSON Lines of {instruction, input, output}.
// Every record is validated; a bad one is named by its index and field.
import fs from 'node:fs';
import type { PoemRecord } from './template.js';

/** The items of a JSON array or of JSON Lines; `what` names them in errors. */
export function parseJsonItems(text: string, source: string, what = 'records'): unknown[] {
  const trimmed = text.trim();
  if (!trimmed) throw new Error(`'${source}' holds no ${what} (empty file)`);
  let items: unknown[];
  if (trimmed.startsWith('[')) {
    try {
      items = JSON.parse(trimmed);
    } catch (e) {
      throw new Error(`'${source}' is not valid JSON: ${(e as Error).message}`);
    }
  } else {
    items = trimmed.split('\n').filter((l) => l.trim()).map((line, i) => {
      try {
        return JSON.parse(line);
      } catch (e) {
        throw new Error(`'${source}' line ${i + 1} is not valid JSON: ${(e as Error).message}`);
      }
    });
  }
  if (items.length === 0) throw new Error(`'${source}' holds no ${what}`);
  return items;
}

export function parseRecords(text: string, source: string, { requireOutput = true } = {}): PoemRecord[] {
  return parseJsonItems(text, source).map((item, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new Error(`'${source}' record ${i} is not an object`);
    }
    const r = item as Record<string, unknown>;
    for (const field of requireOutput ? ['instruction', 'input', 'output'] : ['instruction', 'input']) {
      if (!(field in r)) throw new Error(`'${source}' record ${i}: field '${field}' is missing`);
      if (typeof r[field] !== 'string') throw new Error(`'${source}' record ${i}: field '${field}' must be a string`);
    }
    if (!(r.input as string).trim()) throw new Error(`'${source}' record ${i}: field 'input' is empty`);
    return { instruction: r.instruction as string, input: r.input as string, output: r.output as string | undefined };
  });
}

export function loadRecords(file: string, opts: { requireOutput?: boolean } = {}): PoemRecord[] {
  if (!fs.existsSync(file)) throw new Error(`data file '${file}' does not exist`);
  return parseRecords(fs.readFileSync(file, 'utf8'), file, opts);
}
