// peft's LoRA adapter folders (adapter_model.safetensors + adapter_config.json) to and from
// tang-lora's GGUF adapters, so an adapter trained here loads with PeftModel.from_pretrained and
// one trained by the Python recipe can be sampled, scored or trained on here. peft names a
// projection's factors base_model.model.model.layers.N.<module>.lora_A.weight [r, in] and
// lora_B.weight [out, r]; GGUF blk.N.<tensor>.weight.lora_a and .lora_b, the same bytes under
// ggml's dims. lora_B's rows are output rows: for q and k of an interleaved base (layout.ts)
// they are reordered as the base's weights were. Both scale by alpha / r; peft's rsLoRA
// (alpha / sqrt r) is imported as the alpha that gives the same scale.
import fs from 'node:fs';
import path from 'node:path';
import { checkNotInput, checkWritable, tempName } from '../atomic-write.js';
import { readJsonFile } from '../fs-errors.js';
import type { OptionTable } from '../options.js';
import { convertFloats } from './floats.js';
import { readGguf, readGgufFloats, type GgufFile } from './gguf-read.js';
import { writeGguf, type GgufValue, type TensorInfo } from './gguf-write.js';
import { HF_ARCHITECTURES, INTERLEAVED_QK, interleaveHeads, PROJECTIONS } from './layout.js';
import { readSafetensorsHeader, readTensorBytes, writeSafetensors } from './safetensors.js';

export const EXPORT_OPTIONS = {
  lora: { type: 'string', nonEmpty: true, required: true, describe: 'The GGUF adapter' },
  base: { type: 'string', nonEmpty: true, required: true, describe: 'The base it was trained on: its GGUF or its Hugging Face folder' },
  format: { type: 'string', choices: ['peft'], default: 'peft', describe: 'What to write' },
  out: { type: 'string', nonEmpty: true, required: true, describe: 'The folder to write' },
} as const satisfies OptionTable;

export const IMPORT_OPTIONS = {
  peft: { type: 'string', nonEmpty: true, required: true, describe: 'The peft adapter folder' },
  base: { type: 'string', nonEmpty: true, required: true, describe: 'The GGUF base model it belongs to' },
  out: { type: 'string', nonEmpty: true, required: true, describe: 'The GGUF adapter to write' },
} as const satisfies OptionTable;

/** What an adapter must agree with: the base's architecture, heads, and each projection's [in, out]. */
interface BaseShape {
  arch: string;
  nHead: number;
  nHeadKv: number;
  dims: Map<string, number[]>; // GGUF tensor name -> ggml dims (GGUF bases only)
  name: string;
}


function readBase(base: string): BaseShape {
  if (!fs.existsSync(base)) throw new Error(`base '${base}' does not exist`);
  if (fs.statSync(base).isDirectory()) {
    const file = path.join(base, 'config.json');
    if (!fs.existsSync(file)) throw new Error(`base '${base}' has no config.json`);
    const c = (readJsonFile(file) ?? {}) as Record<string, any>;
    const name = Array.isArray(c.architectures) ? c.architectures[0] : undefined;
    if (typeof name !== 'string' || !Object.hasOwn(HF_ARCHITECTURES, name)) throw new Error(`base '${base}': architecture ${name ?? '(none)'} is not supported`);
    const [nHead, nHeadKv] = [c.num_attention_heads, c.num_key_value_heads ?? c.num_attention_heads];
    if (!Number.isInteger(nHead) || nHead <= 0 || !Number.isInteger(nHeadKv) || nHeadKv <= 0) throw new Error(`'${file}': num_attention_heads and num_key_value_heads must be positive integers`);
    return { arch: HF_ARCHITECTURES[name]!.arch, nHead, nHeadKv, dims: new Map(), name: base };
  }
  const g = readGguf(base);
  const arch = String(g.meta.get('general.architecture') ?? '');
  const nHead = Number(g.meta.get(`${arch}.attention.head_count`));
  if (!(nHead > 0)) throw new Error(`base '${base}' is not a GGUF model (no ${arch}.attention.head_count)`);
  return {
    arch, nHead, nHeadKv: Number(g.meta.get(`${arch}.attention.head_count_kv`) ?? nHead),
    dims: new Map(g.tensors.map((t) => [t.name, t.dims])), name: String(g.meta.get('general.name') ?? path.basename(base)),
  };
}

const qkHeads = (b: BaseShape, tensor: string) =>
  INTERLEAVED_QK.has(b.arch) ? (tensor === 'attn_q' ? b.nHead : tensor === 'attn_k' ? b.nHeadKv : 0) : 0;

function readAdapter(file: string): GgufFile {
  const a = readGguf(file);
  if (a.meta.get('general.type') !== 'adapter' || a.meta.get('adapter.type') !== 'lora') throw new Error(`'${file}' is not a GGUF LoRA adapter`);
  if (!(Number(a.meta.get('adapter.lora.alpha')) > 0)) throw new Error(`'${file}' has no adapter.lora.alpha`);
  return a;
}

/** Each projection's A and B both there, of one rank (`rank(name, factor)`), or one line saying which is not. */
function checkPairs(where: string, names: { key: string; factor: 'a' | 'b'; rank: number }[]): void {
  const by = new Map<string, Map<string, number>>();
  for (const n of names) by.set(n.key, (by.get(n.key) ?? new Map()).set(n.factor, n.rank));
  for (const [key, f] of by) {
    if (f.size !== 2) throw new Error(`'${where}': ${key} has lora_${[...f.keys()][0]} without its other factor`);
    if (f.get('a') !== f.get('b')) throw new Error(`'${where}': ${key}'s factors have ranks ${f.get('a')} and ${f.get('b')}`);
  }
}

/** Writes `out`/adapter_model.safetensors and adapter_config.json from a GGUF adapter trained on `base`. */
export function exportPeft(adapterFile: string, base: string, out: string): void {
  const a = readAdapter(adapterFile);
  const b = readBase(base);
  if (a.meta.get('general.architecture') !== b.arch) {
    throw new Error(`'${adapterFile}' is an adapter for a ${a.meta.get('general.architecture')} model, the base is ${b.arch}`);
  }
  const tensors: Parameters<typeof writeSafetensors>[1] = [];
  const modules = new Set<string>();
  const factors: { key: string; factor: 'a' | 'b'; rank: number }[] = [];
  let rank = 0;
  for (const t of a.tensors) {
    const m = /^blk\.(\d+)\.(\w+)\.weight\.lora_(a|b)$/.exec(t.name);
    const proj = m && PROJECTIONS.find(([g]) => g === m[2]);
    if (!m || !proj) throw new Error(`'${adapterFile}': tensor ${t.name} is not a LoRA factor of a known projection`);
    const base = b.dims.get(`blk.${m[1]}.${m[2]}.weight`);
    const [rows, cols] = [t.dims[1]!, t.dims[0]!]; // torch's shape: [r, in] for A, [out, r] for B
    if (base && (m[3] === 'a' ? cols !== base[0] : rows !== base[1])) throw new Error(`'${adapterFile}': ${t.name} does not fit the base's ${m[2]} (another base?)`);
    rank = m[3] === 'a' ? rows : cols;
    factors.push({ key: `blk.${m[1]}.${m[2]}`, factor: m[3] as 'a' | 'b', rank });
    let bytes: Uint8Array = new Uint8Array(readGgufFloats(a, t).buffer);
    const heads = m[3] === 'b' ? qkHeads(b, m[2]!) : 0;
    if (heads) bytes = interleaveHeads(bytes, heads, cols * 4, true);
    modules.add(proj[1].split('.')[1]!);
    tensors.push({ name: `base_model.model.model.layers.${m[1]}.${proj[1]}.lora_${m[3]!.toUpperCase()}.weight`, dtype: 'F32', shape: [rows, cols], data: bytes });
  }
  if (tensors.length === 0) throw new Error(`'${adapterFile}' holds no LoRA tensors`);
  checkPairs(adapterFile, factors);
  const config = {
    peft_type: 'LORA', task_type: 'CAUSAL_LM', base_model_name_or_path: b.name, r: rank, lora_alpha: Number(a.meta.get('adapter.lora.alpha')),
    lora_dropout: 0, target_modules: PROJECTIONS.map(([, h]) => h.split('.')[1]!).filter((m) => modules.has(m)), bias: 'none',
    fan_in_fan_out: false, inference_mode: true, init_lora_weights: true, modules_to_save: null, use_rslora: false, use_dora: false,
    layers_to_transform: null, layers_pattern: null, rank_pattern: {}, alpha_pattern: {},
  };
  const [weights, configFile] = [path.join(out, 'adapter_model.safetensors'), path.join(out, 'adapter_config.json')];
  if (fs.existsSync(out) && !fs.statSync(out).isDirectory()) throw new Error(`--out '${out}' is a file, not a folder`);
  for (const f of [weights, configFile]) (checkWritable(f, 'adapter folder'), checkNotInput(f, [adapterFile, base]));
  fs.mkdirSync(out, { recursive: true });
  // both written whole before either replaces an earlier export
  const tmp = [tempName(weights), tempName(configFile)];
  try {
    writeSafetensors(tmp[0]!, tensors);
    fs.writeFileSync(tmp[1]!, JSON.stringify(config, null, 2) + '\n');
    fs.renameSync(tmp[0]!, weights);
    fs.renameSync(tmp[1]!, configFile);
  } finally {
    for (const t of tmp) fs.rmSync(t, { force: true });
  }
}

/** Writes the GGUF adapter `out` from a peft folder, checked against the GGUF base it was trained for. */
export async function importPeft(peftDir: string, baseGguf: string, out: string): Promise<void> {
  if (!fs.existsSync(peftDir) || !fs.statSync(peftDir).isDirectory()) throw new Error(`'${peftDir}' is not a folder`);
  const cfgFile = path.join(peftDir, 'adapter_config.json');
  if (!fs.existsSync(cfgFile)) throw new Error(`'${peftDir}' has no adapter_config.json`);
  const cfg = readJsonFile(cfgFile) as Record<string, any>;
  if (!cfg || typeof cfg !== 'object' || Array.isArray(cfg)) throw new Error(`'${cfgFile}' must be a JSON object`);
  if (cfg.peft_type !== 'LORA') throw new Error(`'${cfgFile}': peft_type ${cfg.peft_type} is not LORA`);
  if (cfg.use_dora || cfg.fan_in_fan_out) throw new Error(`'${cfgFile}': DoRA and fan_in_fan_out adapters are not imported`);
  if (!Number.isInteger(cfg.r) || cfg.r <= 0 || !(cfg.lora_alpha > 0)) throw new Error(`'${cfgFile}': r and lora_alpha must be positive`);
  for (const k of ['rank_pattern', 'alpha_pattern']) {
    if (cfg[k] && Object.keys(cfg[k]).length > 0) throw new Error(`'${cfgFile}': a per-module ${k} is not imported (one r and lora_alpha for all)`);
  }
  if (fs.existsSync(baseGguf) && fs.statSync(baseGguf).isDirectory()) throw new Error(`--base must be the GGUF base model, not a folder`);
  const b = readBase(baseGguf);
  const alpha = cfg.use_rslora ? cfg.lora_alpha * Math.sqrt(cfg.r) : cfg.lora_alpha;
  checkWritable(out, 'adapter file');
  const weights = path.join(peftDir, 'adapter_model.safetensors');
  if (!fs.existsSync(weights)) throw new Error(`'${peftDir}' has no adapter_model.safetensors`);
  checkNotInput(out, [baseGguf, cfgFile, weights]);
  const stored = readSafetensorsHeader(weights);
  const plan: { info: TensorInfo; bytes: () => Uint8Array }[] = stored.map((t) => {
    const m = /^base_model\.model\.model\.layers\.(\d+)\.((?:self_attn|mlp)\.\w+)\.lora_(A|B)\.weight$/.exec(t.name);
    const proj = m && PROJECTIONS.find(([, h]) => h === m[2]);
    if (!m || !proj) throw new Error(`'${peftDir}': tensor ${t.name} is not a LoRA factor of a known projection`);
    const [rows, cols] = t.shape as [number, number];
    const rank = m[3] === 'A' ? rows : cols;
    if (rank !== cfg.r) throw new Error(`'${peftDir}': ${t.name} has rank ${rank}, adapter_config.json says r = ${cfg.r}`);
    const w = b.dims.get(`blk.${m[1]}.${proj[0]}.weight`);
    if (!w || (m[3] === 'A' ? cols !== w[0] : rows !== w[1])) throw new Error(`'${peftDir}': ${t.name} does not fit the base '${baseGguf}' (another base?)`);
    const heads = m[3] === 'B' ? qkHeads(b, proj[0]) : 0;
    return {
      info: { name: `blk.${m[1]}.${proj[0]}.weight.lora_${m[3]!.toLowerCase()}`, dims: [cols, rows], type: 'f32' },
      bytes: () => {
        const f32 = convertFloats(readTensorBytes(t), t.dtype, 'f32');
        return heads ? interleaveHeads(f32, heads, cols * 4) : f32;
      },
    };
  });
  if (plan.length === 0) throw new Error(`'${peftDir}' holds no LoRA tensors`);
  checkPairs(weights, plan.map((p) => ({ key: p.info.name.replace(/\.lora_[ab]$/, ''), factor: p.info.name.endsWith('a') ? 'a' : 'b', rank: p.info.name.endsWith('a') ? p.info.dims[1]! : p.info.dims[0]! })));
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  const meta: [string, GgufValue][] = [
    ['general.architecture', { str: b.arch }], ['general.type', { str: 'adapter' }], ['adapter.type', { str: 'lora' }],
    ['general.name', { str: `peft adapter ${path.basename(path.resolve(peftDir))}` }], ['adapter.lora.alpha', { f32: alpha }],
  ];
  const tmp = tempName(out);
  try {
    await writeGguf(tmp, meta, plan.map((p) => p.info), async (info, write) => write(plan.find((p) => p.info === info)!.bytes()));
    fs.renameSync(tmp, out);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
