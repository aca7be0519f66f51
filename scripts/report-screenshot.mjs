#!/usr/bin/env node
// A PNG of a run's report.html as a browser draws it, with headless Chromium where one is
// installed (Debian/Ubuntu: apt install chromium; or CHROMIUM=/path/to/chrome):
//   node scripts/report-screenshot.mjs <run folder or report.html> [out.png] [--width 1280]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const wi = args.indexOf('--width');
const width = wi >= 0 ? Number(args.splice(wi, 2)[1]) : 1280;
const [given, outArg] = args;
const fail = (line) => {
  console.error(`report-screenshot: ${line}`);
  process.exit(1);
};
if (!given) fail('usage: report-screenshot.mjs <run folder or report.html> [out.png] [--width 1280]');
if (!(width >= 320 && width <= 4096)) fail('--width must be 320 to 4096 px');
const report = fs.existsSync(given) && fs.statSync(given).isDirectory() ? path.join(given, 'report.html') : given;
if (!fs.existsSync(report)) fail(`'${report}' does not exist`);
const out = path.resolve(outArg ?? report.replace(/\.html$/, '') + '.png');
const browser = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']
  .find((b) => b && fs.existsSync(b));
if (!browser) fail('no Chromium found (apt install chromium, or set CHROMIUM=/path/to/chrome)');

// tall enough for the whole page; headless Chromium pads the rest with white
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'report-screenshot-'));
const r = spawnSync(browser, [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--hide-scrollbars',
  `--window-size=${width},3200`, `--screenshot=${out}`, pathToFileURL(path.resolve(report)).href,
], { encoding: 'utf8', timeout: 60_000 });
fs.rmSync(profile, { recursive: true, force: true });
if (r.status !== 0 || !fs.existsSync(out)) fail(`Chromium failed: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`);
console.log(out);
