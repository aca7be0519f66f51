// A Hugging Face tokenizer (tokenizer.json, tokenizer_config.json) as GGUF tokenizer metadata
// that libllama reads. Two kinds: sentencepiece-style BPE with byte fallback (Llama-2, Mistral,
// TAIDE: GGUF model "llama") and byte-level BPE (Llama-3, Qwen2: GGUF model "gpt2" with its
// pre-tokenizer named). Token types: byte pieces, the unknown token, special (control) and
// other added (user-defined) tokens, normal. A sentencepiece-style vocabulary gets scores from
// its merges (earlier merge, higher score), the order libllama's merge loop follows.
import fs from 'node:fs';
import path from 'node:path';
import { readJsonFile } from '../fs-errors.js';
import type { GgufValue } from './gguf-write.js';

const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

// Byte-level pre-tokenizers libllama knows, by the split regex of their tokenizer.json.
const PRE_TOKENIZERS: [string, string][] = [
  ["(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", 'llama-bpe'],
  ["(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", 'qwen2'],
];

interface TokenizerJson {
  model: { type: string; vocab: Record<string, number>; merges?: (string | [string, string])[]; byte_fallback?: boolean; unk_token?: string | null };
  added_tokens?: { id: number; content: string; special: boolean }[];
  normalizer?: unknown;
  pre_tokenizer?: unknown;
  post_processor?: unknown;
}

/** Every object inside a JSON value (for finding normalizer and pre-tokenizer steps). */
const walk = (v: unknown): Record<string, unknown>[] =>
  v && typeof v === 'object' ? [...(Array.isArray(v) ? [] : [v as Record<string, unknown>]), ...Object.values(v).flatMap(walk)] : [];

/** The tokenizer of a model folder as GGUF key/values, padded to `nVocab` tokens (config.json's vocab_size). */
export function convertTokenizer(dir: string, nVocab: number): [string, GgufValue][] {
  const file = path.join(dir, 'tokenizer.json');
  if (!fs.existsSync(file)) throw new Error(`'${dir}' has no tokenizer.json`);
  const tj = readJsonFile(file) as TokenizerJson;
  const cfgFile = path.join(dir, 'tokenizer_config.json');
  const cfg = ((fs.existsSync(cfgFile) ? readJsonFile(cfgFile) : null) ?? {}) as Record<string, unknown>;
  if (typeof cfg !== 'object' || Array.isArray(cfg)) throw new Error(`'${cfgFile}' must be a JSON object`);
  if (tj?.model?.type !== 'BPE' || !tj.model.vocab || typeof tj.model.vocab !== 'object') {
    throw new Error(`'${file}': only BPE tokenizers are converted (this one is ${tj?.model?.type ?? 'of no known type'})`);
  }

  const added = Array.isArray(tj.added_tokens) ? tj.added_tokens : [];
  // every id a token of the model's vocabulary (config.json's vocab_size), every string at one id
  const n = nVocab;
  const tokens: string[] = new Array(n);
  const types = new Int32Array(n).fill(TOKEN_TYPE.normal);
  const place = (text: unknown, id: unknown) => {
    if (typeof text !== 'string' || !Number.isInteger(id) || (id as number) < 0 || (id as number) >= n) {
      throw new Error(`'${file}': token ${JSON.stringify(text)} has id ${JSON.stringify(id)}, outside the vocabulary of ${n} (config.json's vocab_size)`);
    }
    if (tokens[id as number] !== undefined && tokens[id as number] !== text) throw new Error(`'${file}': id ${id} is both ${JSON.stringify(tokens[id as number])} and ${JSON.stringify(text)}`);
    tokens[id as number] = text;
  };
  for (const [t, id] of Object.entries(tj.model.vocab)) place(t, id);
  for (const a of added) {
    place(a?.content, a?.id);
    types[a.id] = a.special ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined;
  }
  const seen = new Map<string, number>();
  tokens.forEach((t, id) => {
    if (t === undefined) return;
    if (seen.has(t)) throw new Error(`'${file}': token ${JSON.stringify(t)} has two ids, ${seen.get(t)} and ${id}`);
    seen.set(t, id);
  });
  for (let i = 0; i < n; i++) {
    if (tokens[i] === undefined) [tokens[i], types[i]] = [`[PAD${i}]`, TOKEN_TYPE.unused];
  }
  const pairs = (Array.isArray(tj.model.merges) ? tj.model.merges : []).map((m) => (Array.isArray(m) ? m : String(m).split(' ')) as [string, string]);
  const merges = pairs.map((m) => m.join(' '));
  const idOf = (name: unknown) => seen.get(typeof name === 'string' ? name : String((name as { content?: string } | null)?.content));
  const ids: [string, number | undefined][] = [
    ['bos', idOf(cfg.bos_token)], ['eos', idOf(cfg.eos_token)], ['padding', idOf(cfg.pad_token)], ['unknown', idOf(cfg.unk_token ?? tj.model.unk_token)],
  ];
  const meta: [string, GgufValue][] = [];
  const sentencepiece = tj.model.byte_fallback === true;
  if (sentencepiece) {
    const scores = new Float32Array(n).fill(-1e9);
    pairs.forEach(([a, b], rank) => {
      const id = tj.model.vocab[a + b];
      if (id !== undefined && scores[id] === -1e9) scores[id] = -rank;
    });
    for (let i = 0; i < n; i++) if (/^<0x[0-9A-F]{2}>$/.test(tokens[i]!)) types[i] = TOKEN_TYPE.byte;
    const unk = ids[3]![1];
    if (unk !== undefined) types[unk] = TOKEN_TYPE.unknown;
    const steps = [...walk(tj.normalizer), ...walk(tj.pre_tokenizer)];
    const prefix = steps.some((s) => (s.type === 'Prepend' && s.prepend === '\u2581') || (s.type === 'Metaspace' && s.prepend_scheme !== 'never' && s.add_prefix_space !== false));
    meta.push(['tokenizer.ggml.model', { str: 'llama' }], ['tokenizer.ggml.pre', { str: 'default' }],
      ['tokenizer.ggml.tokens', { strs: tokens }], ['tokenizer.ggml.scores', { f32s: scores }], ['tokenizer.ggml.token_type', { i32s: types }],
      ['tokenizer.ggml.add_space_prefix', { bool: prefix }]);
  } else {
    const split = walk(tj.pre_tokenizer).find((s) => s.type === 'Split') as { pattern?: { Regex?: string } } | undefined;
    if (!walk(tj.pre_tokenizer).some((s) => s.type === 'ByteLevel')) throw new Error(`'${file}': a BPE tokenizer without byte fallback must be byte-level`);
    const pre = PRE_TOKENIZERS.find(([re]) => re === split?.pattern?.Regex)?.[1];
    if (!pre) throw new Error(`'${file}': its pre-tokenizer (split regex ${JSON.stringify(split?.pattern?.Regex ?? null)}) is not one libllama knows (Llama-3, Qwen2)`);
    meta.push(['tokenizer.ggml.model', { str: 'gpt2' }], ['tokenizer.ggml.pre', { str: pre }],
      ['tokenizer.ggml.tokens', { strs: tokens }], ['tokenizer.ggml.token_type', { i32s: types }], ['tokenizer.ggml.merges', { strs: merges }]);
  }
  for (const [k, id] of ids) if (id !== undefined) meta.push([`tokenizer.ggml.${k}_token_id`, { u32: id }]);
  // whether encoding adds BOS / EOS: tokenizer_config.json's flags, else what tokenizer.json's post-processor
  // puts around a single sequence (a TemplateProcessing, alone or in a Sequence; none: nothing), as
  // Hugging Face's tokenizers library encodes with special tokens
  const single = walk(tj.post_processor).find((s) => s.type === 'TemplateProcessing')?.single;
  const pieces = Array.isArray(single) ? single : [];
  const adds: Record<'add_bos_token' | 'add_eos_token', boolean> = {
    add_bos_token: typeof cfg.add_bos_token === 'boolean' ? cfg.add_bos_token : pieces.length > 0 && 'SpecialToken' in Object(pieces[0]),
    add_eos_token: typeof cfg.add_eos_token === 'boolean' ? cfg.add_eos_token : pieces.length > 1 && 'SpecialToken' in Object(pieces.at(-1)),
  };
  for (const [k, v] of Object.entries(adds)) meta.push([`tokenizer.ggml.${k}`, { bool: v }]);
  const template = Array.isArray(cfg.chat_template)
    ? (cfg.chat_template as { name: string; template: string }[]).find((t) => t.name === 'default')?.template
    : cfg.chat_template;
  if (typeof template === 'string') meta.push(['tokenizer.chat_template', { str: template }]);
  return meta;
}
