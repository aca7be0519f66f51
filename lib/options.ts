// Option tables: each job declares its options once (type, default, range, help, the reference
// script's names, how a resume treats them), and flags, defaults, validation, --help and the
// config-file names are all derived from that one table. The CLI turns a table into yargs
// options (cli/options.ts); the library checks the same table before any work starts.

interface Common {
  describe: string;
  /** The reference script's / Hugging Face's names for it in a config file (num_epoch, ...). */
  reference?: readonly string[];
  /** On --resume: 'same' must match the checkpoint (data order, past steps' math); 'schedule'
   * may change only with --new-schedule; absent: free (device, logging, memory plan). */
  resume?: 'same' | 'schedule';
  /** The CLI demands it. */
  required?: boolean;
  /** Where --help and the run report list it (Data, LoRA, Schedule, ...). */
  group?: string;
}

export type OptionSpec = Common &
  (
    | { type: 'int'; default?: number; min: number; max?: number; also?: readonly number[] }
    | { type: 'number'; default?: number; min?: number; max?: number; above?: number; below?: number }
    | { type: 'boolean'; default?: boolean }
    | { type: 'string'; default?: string; choices?: readonly string[]; nonEmpty?: boolean }
    | { type: 'strings'; default?: readonly string[]; choices?: readonly string[] }
  );

export type OptionTable = Record<string, OptionSpec>;

/** The order option groups are listed in (--help, the run report); groups not named here come last. */
const GROUP_ORDER = ['Data', 'LoRA', 'Schedule', 'Memory plan', 'Test', 'Output'];

/** Sorts [group, ...] entries into GROUP_ORDER. */
export const byGroupOrder = ([a]: [string, ...unknown[]], [b]: [string, ...unknown[]]) => {
  const rank = (g: string) => (GROUP_ORDER.includes(g) ? GROUP_ORDER.indexOf(g) : GROUP_ORDER.length);
  return rank(a) - rank(b);
};

/** A table's keys by group, groups in GROUP_ORDER (keys without a group left out). */
export function optionGroups(table: OptionTable): [string, string[]][] {
  const groups = new Map<string, string[]>();
  for (const [k, s] of Object.entries(table)) if (s.group) groups.set(s.group, [...(groups.get(s.group) ?? []), k]);
  return [...groups].sort(byGroupOrder);
}

type ValueOf<S extends OptionSpec> = S extends { type: 'int' | 'number' }
  ? number
  : S extends { type: 'boolean' }
    ? boolean
    : S extends { type: 'strings'; choices: readonly (infer C)[] }
      ? C[]
      : S extends { type: 'strings' }
        ? string[]
        : S extends { type: 'string'; choices: readonly (infer C)[] }
          ? C
          : string;

/** The options of a table as an object type, each optional. */
export type OptionValues<T extends OptionTable> = { -readonly [K in keyof T]?: ValueOf<T[K]> };

/** The table's defaults (options without one are left out). */
export function defaults<T extends OptionTable>(table: T): OptionValues<T> {
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(table)) if (s.default !== undefined) out[k] = Array.isArray(s.default) ? [...s.default] : s.default;
  return out as OptionValues<T>;
}

/** camelCase option name -> its flag, kebab-case. */
export const flagName = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** What values an option takes, in words, for --help and for errors. */
export function allowed(s: OptionSpec): string {
  switch (s.type) {
    case 'int': {
      const range = s.max === undefined ? `>= ${s.min}` : `from ${s.min} to ${s.max}`;
      return `an integer ${range}${s.also ? ` (or ${s.also.join(', ')})` : ''}`;
    }
    case 'number': {
      const lo = s.above !== undefined ? `> ${s.above}` : s.min !== undefined ? `>= ${s.min}` : '';
      const hi = s.below !== undefined ? `< ${s.below}` : s.max !== undefined ? `<= ${s.max}` : '';
      return `a number${lo || hi ? ` ${[lo, hi].filter(Boolean).join(' and ')}` : ''}`;
    }
    case 'boolean':
      return 'true or false';
    case 'string':
      return s.choices ? `one of ${s.choices.join(', ')}` : s.nonEmpty ? 'a non-empty text' : 'a text';
    case 'strings':
      return s.choices ? `a list of ${s.choices.join(', ')}` : 'a list of texts';
  }
}

const shown = (v: unknown) => (typeof v === 'string' ? `'${v}'` : Array.isArray(v) ? `[${v.join(', ')}]` : String(v));

/** One value checked and converted (numbers from numeric text too); throws one line naming the flag. */
export function checkOption(key: string, s: OptionSpec, v: unknown): unknown {
  const fail = () => new Error(`--${flagName(key)} must be ${allowed(s)}, got ${shown(v)}`);
  if (Array.isArray(v) && s.type !== 'strings') throw new Error(`--${flagName(key)} is given more than once`);
  switch (s.type) {
    case 'int':
    case 'number': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (!Number.isFinite(n)) throw fail();
      if (s.type === 'int') {
        if (!Number.isInteger(n) || (!(n >= s.min && n <= (s.max ?? Infinity)) && !s.also?.includes(n))) throw fail();
      } else if (
        (s.min !== undefined && n < s.min) || (s.max !== undefined && n > s.max) ||
        (s.above !== undefined && n <= s.above) || (s.below !== undefined && n >= s.below)
      ) {
        throw fail();
      }
      return n;
    }
    case 'boolean':
      if (typeof v === 'boolean') return v;
      if (v === 'true' || v === 'false') return v === 'true';
      throw fail();
    case 'string':
      if (typeof v !== 'string' || (s.nonEmpty && !v.trim()) || (s.choices && !s.choices.includes(v))) throw fail();
      return v;
    case 'strings': {
      const list = typeof v === 'string' ? [v] : v;
      if (!Array.isArray(list) || list.some((x) => typeof x !== 'string' || (s.choices && !s.choices.includes(x)))) throw fail();
      return list;
    }
  }
}

/** Every given option of `values` checked against the table; unknown keys refused. */
export function checkOptions<T extends OptionTable>(table: T, values: Record<string, unknown>): OptionValues<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) continue;
    const s = table[k];
    if (!s) throw new Error(`unknown option '${k}'`);
    out[k] = checkOption(k, s, v);
  }
  return out as OptionValues<T>;
}

/** The entries of `values` that the table declares, checked (the rest is left out). */
export function pickOptions<T extends OptionTable>(table: T, values: object): OptionValues<T> {
  return checkOptions(table, Object.fromEntries(Object.entries(values).filter(([k]) => k in table)));
}

/** Defaults, then the given options, every one checked. */
export function resolveOptions<T extends OptionTable>(table: T, given: Record<string, unknown>): OptionValues<T> {
  return { ...defaults(table), ...checkOptions(table, given) };
}
