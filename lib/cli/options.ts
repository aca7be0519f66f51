// An option table (lib/options.ts) as yargs options: flag names, types, defaults and help with
// the allowed values; the values read back under the table's names; config files read through
// the table's names (flag, camelCase, the reference script's). yargs checks only the syntax;
// every value is checked by the table (one line naming the flag and what it allows).
import fs from 'node:fs';
import type { Argv, Options } from 'yargs';
import { allowed, flagName, optionGroups, pickOptions, type OptionTable, type OptionValues } from '../index.js';

/** The table's options added to a yargs command. */
export function addOptions<T>(y: Argv<T>, table: OptionTable): Argv<T> {
  for (const [key, s] of Object.entries(table)) {
    const o: Options = {
      type: s.type === 'int' ? 'number' : s.type === 'strings' ? 'string' : s.type,
      describe: s.type === 'boolean' || (s.type === 'string' && !s.choices) ? s.describe : `${s.describe} [${allowed(s)}]`,
      demandOption: s.required,
    };
    if (s.type === 'strings') o.array = true;
    if (s.default !== undefined) o.default = s.default;
    y = y.option(flagName(key), o);
  }
  for (const [g, keys] of optionGroups(table)) y = y.group(keys.map(flagName), `${g}:`);
  return y;
}

/** A flag the command line got wrong: exit 2, as yargs' own usage errors. */
export class UsageError extends Error {}

/** The table's values out of yargs' arguments (yargs gives camelCase keys too), each checked. */
export function readOptions<T extends OptionTable>(table: T, args: Record<string, unknown>): OptionValues<T> {
  try {
    return pickOptions(table, Object.fromEntries(Object.keys(table).map((k) => [k, args[k]])));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/**
 * yargs reads "--no-x value" as the negation of x; a flag whose own name starts with "no-"
 * (--no-repeat-ngram-size) is joined with its value first, so both forms parse.
 */
export function joinNoFlags(argv: string[], tables: OptionTable[]): string[] {
  const names = new Set(tables.flatMap((t) => Object.keys(t).map(flagName)).filter((n) => n.startsWith('no-')));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--') && names.has(a.slice(2)) && i + 1 < argv.length) out.push(`${a}=${argv[++i]}`);
    else out.push(a);
  }
  return out;
}

/** A JSON config file's settings under flag names: keys may be flag names, camelCase or reference names. */
export function readConfig(file: string, table: OptionTable, command: string): Record<string, unknown> {
  const names = new Map<string, string>();
  for (const [key, s] of Object.entries(table)) {
    for (const n of [key, flagName(key), ...(s.reference ?? [])]) names.set(n.toLowerCase(), flagName(key));
  }
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`config '${file}' cannot be read as JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`config '${file}' must be a JSON object`);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const name = names.get(key.toLowerCase());
    if (!name) throw new Error(`config '${file}': '${key}' is not a ${command} setting`);
    out[name] = value;
  }
  return out;
}
