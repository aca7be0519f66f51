#!/usr/bin/env node
// Before `npm pack` of tang-lora: the vocabularies create-model writes into random models
// (from the vendored llama.cpp tree) go into vocab/, so an install from a prebuilt package,
// which has no vendored tree, has them too. dist/ is compiled by the prepare script.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const from = path.join(root, 'native', 'vendor', 'llama.cpp', 'models');
const to = path.join(root, 'vocab');
fs.rmSync(to, { recursive: true, force: true });
fs.mkdirSync(to);
for (const f of fs.readdirSync(from).filter((f) => /^ggml-vocab-.*\.gguf$/.test(f))) fs.copyFileSync(path.join(from, f), path.join(to, f));
console.log(`tang-lora: ${fs.readdirSync(to).length} vocabularies -> vocab/`);
