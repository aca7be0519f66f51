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

// A text field that cannot be tokenized faithfully: a NUL or a lone UTF-16 surrogate.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const unusable = (v: string) => (v.includes('\0') ? 'a NUL character' : LONE_SURROGATE.test(v) ? 'a lone UTF-16 surrogate' : null);

/** `invalidUtf8`: the file's bytes were not valid UTF-8, so U+FFFD in a field marks where. */
export function parseRecords(text: string, source: string, { requireOutput = true, invalidUtf8 = false } = {}): PoemRecord[] {
  return parseJsonItems(text, source).map((item, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new Error(`'${source}' record ${i} is not an object`);
    }
    const r = item as Record<string, unknown>;
    for (const field of requireOutput ? ['instruction', 'input', 'output'] : ['instruction', 'input']) {
      if (!(field in r)) throw new Error(`'${source}' record ${i}: field '${field}' is missing`);
      if (typeof r[field] !== 'string') throw new Error(`'${source}' record ${i}: field '${field}' must be a string`);
    }
    for (const field of ['instruction', 'input', 'output']) {
      const v = r[field];
      if (typeof v !== 'string') continue;
      const why = invalidUtf8 && v.includes('\uFFFD') ? 'bytes that are not UTF-8' : unusable(v);
      if (why) throw new Error(`'${source}' record ${i}: field '${field}' holds ${why}`);
    }
    if (!(r.input as string).trim()) throw new Error(`'${source}' record ${i}: field 'input' is empty`);
    return { instruction: r.instruction as string, input: r.input as string, output: r.output as string | undefined };
  });
}

export function loadRecords(file: string, opts: { requireOutput?: boolean } = {}): PoemRecord[] {
  const bytes = readRegularFile(file, 'data file');
  let invalidUtf8 = false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    invalidUtf8 = true;
  }
  const records = parseRecords(bytes.toString('utf8'), file, { ...opts, invalidUtf8 });
  if (invalidUtf8) throw new Error(`'${file}' is not valid UTF-8 outside its records' text fields`);
  return records;
}

/** A missing path, a folder, a FIFO or a device where a file is read is one clear error. */
export function checkRegularFile(file: string, what: string): void {
  if (!fs.existsSync(file)) throw new Error(`${what} '${file}' does not exist`);
  if (!fs.statSync(file).isFile()) throw new Error(`${what} '${file}' is not a regular file`);
}

function readRegularFile(file: string, what: string): Buffer {
  checkRegularFile(file, what);
  return fs.readFileSync(file);
}
