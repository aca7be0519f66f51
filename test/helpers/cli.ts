// Running the `tang-lora` CLI as a user does, and what every failure of it must look like.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cliPath } from './paths.js';

/** The device the suite runs on (TANG_LORA_DEVICE, default cpu). */
export const device = process.env.TANG_LORA_DEVICE ?? 'cpu';

export function runCli(...args: string[]): SpawnSyncReturns<string> {
  return runCliWith({}, ...args);
}

/** runCli in another working folder or with a time limit (then killed: a hang fails). */
export function runCliWith(o: { cwd?: string; timeoutMs?: number }, ...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', cwd: o.cwd, timeout: o.timeoutMs });
}

/** A failure as the CLI must report it: the exit status, one line on stderr matching `re`, no stack trace. */
export function assertFails(r: SpawnSyncReturns<string>, status: number, re: RegExp, what = ''): void {
  assert.equal(r.status, status, `${what}: exit ${r.status} ${r.signal ?? ''}: ${r.stderr}`);
  assert.match(r.stderr, re, what);
  assert.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `${what}: no stack trace`);
}
