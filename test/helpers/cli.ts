// Running the `tang-lora` CLI as a user does, and what every failure of it must look like.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cliPath } from './paths.js';

export { device } from './paths.js';

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

/** Runs `tang-lora train ...args`, sends `signal` `delayMs` after it logs step `step`; resolves with its exit code. */
export function signalAfterStep(args: string[], step: number, signal: NodeJS.Signals, delayMs = 0): Promise<number | null> {
  const child = spawn(process.execPath, [cliPath, 'train', ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  let sent = false;
  child.stdout.on('data', (b: Buffer) => {
    if (!sent && new RegExp(`^step ${step} `, 'm').test(b.toString())) {
      sent = true;
      setTimeout(() => child.kill(signal), delayMs);
    }
  });
  return new Promise((res) => child.on('close', (code) => res(code)));
}
