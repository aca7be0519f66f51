#!/usr/bin/env node
// The `tang-lora` command line: one file per command (commands.ts lists them), each a thin
// handler over the public API.
import { hideBin } from 'yargs/helpers';
import { errorLine } from '../index.js';
import { parser } from './commands.js';
import { UsageError } from './options.js';

const cli = parser(hideBin(process.argv)).fail((msg, err) => {
  // A usage error (unknown flag, missing argument, a value out of its range) exits 2; a failure
  // of the work itself (an Error thrown by a handler) exits 1. yargs' own messages may span
  // lines: they are joined into one.
  const failed = err instanceof Error;
  const line = failed ? errorLine(err) : String(msg).split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
  console.error(`tang-lora: ${line}`);
  process.exit(failed && !(err instanceof UsageError) ? 1 : 2);
});

try {
  await cli.parseAsync();
} catch (e) {
  console.error(`tang-lora: ${errorLine(e)}`);
  process.exit(e instanceof UsageError ? 2 : 1);
}
