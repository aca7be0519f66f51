// `convert`: a Hugging Face model folder (config.json, safetensors, tokenizer.json) to one GGUF
// file that libllama and the trainer load, without Python. Llama-family checkpoints: Llama-2 and
// -3 (rope scaling too), Mistral (GGUF arch llama), Qwen2 (q/k/v biases). Everything is checked
// before the output is opened; tensors are then streamed one at a time (a 7B bf16 model is never
// held whole) into a temporary file renamed at the end; a quantized --type goes through the
// quantizer from a 16-bit temporary.
import fs from 'node:fs';
import path from 'node:path';
import { checkNotInput, checkWritable, tempName } from '../atomic-write.js';
import { readJsonFile } from '../fs-errors.js';
import { QUANT_TYPES, quantize } from '../model/quantize.js';
import { checkOption, type OptionTable } from '../options.js';
import { convertFloats } from './floats.js';
import { HF_ARCHITECTURES, INTERLEAVED_QK, interleaveHeads } from './layout.js';
import { tensorBytes, writeGguf, type FloatType, type GgufValue, type TensorInfo } from './gguf-write.js';
import { readModelTensors, readTensorBytes, type StoredTensor } from './safetensors.js';
import { convertTokenizer } from './tokenizer.js';

export const CONVERT_OPTIONS = {
  out: { type: 'string', nonEmpty: true, required: true, describe: 'The GGUF file to write' },
  type: {
    type: 'string', choices: ['auto', ...QUANT_TYPES], default: 'auto',
    describe: "Weight type of the GGUF (auto: the checkpoint's 16-bit type, f16 for f32 checkpoints)",
  },
} as const satisfies OptionTable;

interface Hparams {
  nLayer: number; nEmbd: number; nFf: number; nHead: number; nHeadKv: number; headDim: number;
  nVocab: number; nCtx: number; eps: number; ropeBase: number; tied: boolean;
  ropeScaling?: { type: string; factor: number; lowFreqFactor?: number; highFreqFactor?: number; originalContext?: number };
}

interface PlannedTensor {
  info: TensorInfo;
  source?: StoredTensor; // absent: computed (rope_freqs)
  permuteHeads?: number; // q/k rows interleaved per head (layout.ts)
  values?: Float32Array;
}

export interface ConvertOptions {
  type?: string;
  onProgress?: (done: number, total: number) => void; // bytes of tensor data written
}

function readConfig(dir: string): { archName: string; hp: Hparams } {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) throw new Error(`'${dir}' has no config.json (not a Hugging Face model folder)`);
  const c = readJsonFile(file) as Record<string, any>;
  const bad = (what: string) => new Error(`'${file}': ${what}`);
  if (!c || typeof c !== 'object' || Array.isArray(c)) throw bad('must be a JSON object');
  const archName = Array.isArray(c.architectures) ? c.architectures[0] : undefined;
  if (typeof archName !== 'string' || !Object.hasOwn(HF_ARCHITECTURES, archName)) {
    throw bad(`architecture ${archName ?? JSON.stringify(c.architectures ?? null)} is not converted (${Object.keys(HF_ARCHITECTURES).join(', ')})`);
  }
  const int = (k: string, v: unknown = c[k]) => {
    if (!Number.isInteger(v) || (v as number) <= 0) throw bad(`${k} must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const positive = (k: string, v: unknown) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw bad(`${k} must be a positive number, got ${JSON.stringify(v)}`);
    return v;
  };
  const [nHead, nEmbd] = [int('num_attention_heads'), int('hidden_size')];
  const nHeadKv = int('num_key_value_heads', c.num_key_value_heads ?? nHead);
  if (nHead % nHeadKv !== 0) throw bad(`num_attention_heads ${nHead} is not a multiple of num_key_value_heads ${nHeadKv}`);
  if (c.head_dim === undefined && nEmbd % nHead !== 0) throw bad(`hidden_size ${nEmbd} is not a multiple of num_attention_heads ${nHead}`);
  const headDim = int('head_dim', c.head_dim ?? nEmbd / nHead);
  if (headDim % 2 !== 0) throw bad(`the head dimension ${headDim} must be even (rotary pairs)`);
  // transformers 5 writes rope_parameters (rope_type 'default' when unscaled, rope_theta inside); earlier
  // versions rope_scaling and rope_theta
  const rp = c.rope_parameters && typeof c.rope_parameters === 'object' ? c.rope_parameters : undefined;
  const rs = c.rope_scaling ?? (rp && rp.rope_type !== 'default' ? rp : undefined);
  const kind = rs ? (rs.rope_type ?? rs.type) : undefined;
  if (kind !== undefined && !['llama3', 'linear'].includes(kind)) throw bad(`rope_scaling type ${kind} is not converted (llama3, linear)`);
  let ropeScaling: Hparams['ropeScaling'];
  if (kind) {
    ropeScaling = { type: kind, factor: positive('rope_scaling.factor', rs.factor) };
    if (kind === 'llama3') {
      const [low, high] = [positive('rope_scaling.low_freq_factor', rs.low_freq_factor ?? 1), positive('rope_scaling.high_freq_factor', rs.high_freq_factor ?? 4)];
      if (!(high > low)) throw bad('rope_scaling.high_freq_factor must be above low_freq_factor');
      const originalContext = int('rope_scaling.original_max_position_embeddings', rs.original_max_position_embeddings ?? 8192);
      Object.assign(ropeScaling, { lowFreqFactor: low, highFreqFactor: high, originalContext });
    }
  }
  const hp: Hparams = {
    nLayer: int('num_hidden_layers'), nEmbd, nFf: int('intermediate_size'), nHead, nHeadKv, headDim,
    nVocab: int('vocab_size'), nCtx: int('max_position_embeddings', c.max_position_embeddings ?? 4096),
    eps: positive('rms_norm_eps', c.rms_norm_eps ?? 1e-6), ropeBase: positive('rope_theta', c.rope_theta ?? rp?.rope_theta ?? 10000),
    tied: c.tie_word_embeddings === true, ...(ropeScaling ? { ropeScaling } : {}),
  };
  return { archName, hp };
}

/** Llama-3's per-frequency rope factors (Meta's published smoothing between the two wavelengths). */
function llama3RopeFactors(hp: Hparams): Float32Array {
  const s = hp.ropeScaling!;
  const [low, high, old] = [s.lowFreqFactor!, s.highFreqFactor!, s.originalContext!];
  const out = new Float32Array(hp.headDim / 2);
  for (let i = 0; i < out.length; i++) {
    const wavelen = (2 * Math.PI) / hp.ropeBase ** (-(2 * i) / hp.headDim);
    if (wavelen < old / high) out[i] = 1;
    else if (wavelen > old / low) out[i] = s.factor;
    else {
      const smooth = (old / wavelen - low) / (high - low);
      out[i] = 1 / ((1 - smooth) / s.factor + smooth);
    }
  }
  return out;
}

function planTensors(dir: string, stored: Map<string, StoredTensor>, archName: string, hp: Hparams, type: FloatType): PlannedTensor[] {
  const { arch, bias } = HF_ARCHITECTURES[archName]!;
  const permuteQK = INTERLEAVED_QK.has(arch);
  const used = new Set<string>();
  const plan: PlannedTensor[] = [];
  const take = (hf: string, gguf: string, shape: number[], extra: Partial<PlannedTensor> = {}) => {
    const t = stored.get(hf);
    if (!t) throw new Error(`'${dir}' lacks tensor ${hf}${hf === 'lm_head.weight' ? ' (tie_word_embeddings is not true)' : ''}`);
    if (t.shape.join('x') !== shape.join('x')) throw new Error(`'${dir}': tensor ${hf} is ${t.shape.join('x')}, config.json says ${shape.join('x')}`);
    used.add(hf);
    // ggml lists dims innermost first; vectors (norms, biases) stay f32 as in llama.cpp's files
    plan.push({ info: { name: gguf, dims: [...shape].reverse(), type: shape.length === 1 ? 'f32' : type }, source: t, ...extra });
  };
  const { nEmbd, nFf, nHead, nHeadKv, headDim } = hp;
  take('model.embed_tokens.weight', 'token_embd.weight', [hp.nVocab, nEmbd]);
  if (hp.ropeScaling?.type === 'llama3') plan.push({ info: { name: 'rope_freqs.weight', dims: [headDim / 2], type: 'f32' }, values: llama3RopeFactors(hp) });
  for (let i = 0; i < hp.nLayer; i++) {
    const [hf, g] = [`model.layers.${i}`, `blk.${i}`];
    take(`${hf}.input_layernorm.weight`, `${g}.attn_norm.weight`, [nEmbd]);
    take(`${hf}.self_attn.q_proj.weight`, `${g}.attn_q.weight`, [nHead * headDim, nEmbd], permuteQK ? { permuteHeads: nHead } : {});
    take(`${hf}.self_attn.k_proj.weight`, `${g}.attn_k.weight`, [nHeadKv * headDim, nEmbd], permuteQK ? { permuteHeads: nHeadKv } : {});
    take(`${hf}.self_attn.v_proj.weight`, `${g}.attn_v.weight`, [nHeadKv * headDim, nEmbd]);
    if (bias) {
      take(`${hf}.self_attn.q_proj.bias`, `${g}.attn_q.bias`, [nHead * headDim]);
      take(`${hf}.self_attn.k_proj.bias`, `${g}.attn_k.bias`, [nHeadKv * headDim]);
      take(`${hf}.self_attn.v_proj.bias`, `${g}.attn_v.bias`, [nHeadKv * headDim]);
    }
    take(`${hf}.self_attn.o_proj.weight`, `${g}.attn_output.weight`, [nEmbd, nHead * headDim]);
    take(`${hf}.post_attention_layernorm.weight`, `${g}.ffn_norm.weight`, [nEmbd]);
    take(`${hf}.mlp.gate_proj.weight`, `${g}.ffn_gate.weight`, [nFf, nEmbd]);
    take(`${hf}.mlp.up_proj.weight`, `${g}.ffn_up.weight`, [nFf, nEmbd]);
    take(`${hf}.mlp.down_proj.weight`, `${g}.ffn_down.weight`, [nEmbd, nFf]);
  }
  take('model.norm.weight', 'output_norm.weight', [nEmbd]);
  // tied embeddings: no output.weight, libllama then uses token_embd
  if (!hp.tied) take('lm_head.weight', 'output.weight', [hp.nVocab, nEmbd]);
  const unknown = [...stored.keys()].filter((k) => !used.has(k) && !k.endsWith('rotary_emb.inv_freq') && !(hp.tied && k === 'lm_head.weight'));
  if (unknown.length) throw new Error(`'${dir}' holds tensors this converter does not know: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', ...' : ''}`);
  return plan;
}

function metadata(dir: string, arch: string, hp: Hparams, type: FloatType): [string, GgufValue][] {
  const k = (s: string) => `${arch}.${s}`;
  const meta: [string, GgufValue][] = [
    ['general.architecture', { str: arch }], ['general.type', { str: 'model' }], ['general.name', { str: path.basename(path.resolve(dir)) }],
    ['general.file_type', { u32: { f32: 0, f16: 1, bf16: 32 }[type] }],
    [k('context_length'), { u32: hp.nCtx }], [k('embedding_length'), { u32: hp.nEmbd }], [k('block_count'), { u32: hp.nLayer }],
    [k('feed_forward_length'), { u32: hp.nFf }], [k('attention.head_count'), { u32: hp.nHead }], [k('attention.head_count_kv'), { u32: hp.nHeadKv }],
    [k('attention.layer_norm_rms_epsilon'), { f32: hp.eps }], [k('rope.freq_base'), { f32: hp.ropeBase }],
    [k('rope.dimension_count'), { u32: hp.headDim }], [k('vocab_size'), { u32: hp.nVocab }],
  ];
  if (hp.headDim !== hp.nEmbd / hp.nHead) meta.push([k('attention.key_length'), { u32: hp.headDim }], [k('attention.value_length'), { u32: hp.headDim }]);
  if (hp.ropeScaling?.type === 'linear') meta.push([k('rope.scaling.type'), { str: 'linear' }], [k('rope.scaling.factor'), { f32: hp.ropeScaling.factor }]);
  return [...meta, ...convertTokenizer(dir, hp.nVocab)];
}

/** Converts the model folder `dir` into `out` (a GGUF file). */
export async function convertHf(dir: string, out: string, options: ConvertOptions = {}): Promise<void> {
  const type = options.type ?? 'auto';
  checkOption('type', CONVERT_OPTIONS.type, type);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`'${dir}' is not a folder`);
  checkWritable(out, 'output model');
  const { archName, hp } = readConfig(dir);
  const stored = readModelTensors(dir);
  const sourceType = stored.get('model.embed_tokens.weight')?.dtype;
  const float: FloatType = ['f32', 'f16', 'bf16'].includes(type) ? (type as FloatType) : sourceType === 'BF16' ? 'bf16' : 'f16';
  const plan = planTensors(dir, stored, archName, hp, float);
  const meta = metadata(dir, HF_ARCHITECTURES[archName]!.arch, hp, float);
  const inputs = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors.index.json'].map((f) => path.join(dir, f));
  checkNotInput(out, [...inputs, ...new Set([...stored.values()].map((t) => t.file))]);
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });

  const quantized = !['auto', 'f32', 'f16', 'bf16'].includes(type);
  const floatFile = quantized ? tempName(`${out}.float`) : tempName(out);
  const total = plan.reduce((a, t) => a + tensorBytes(t.info), 0);
  let done = 0;
  try {
    await writeGguf(floatFile, meta, plan.map((t) => t.info), async (info, write) => {
      const t = plan.find((p) => p.info === info)!;
      let bytes: Uint8Array;
      if (t.values) bytes = new Uint8Array(t.values.buffer);
      else {
        const raw = readTensorBytes(t.source!);
        const rowBytes = (raw.length / t.source!.shape[0]!) | 0;
        bytes = convertFloats(t.permuteHeads ? interleaveHeads(raw, t.permuteHeads, rowBytes) : raw, t.source!.dtype, info.type);
      }
      write(bytes);
      done += bytes.length;
      options.onProgress?.(done, total);
    });
    if (quantized) await quantize(floatFile, out, type);
    else fs.renameSync(floatFile, out);
  } finally {
    fs.rmSync(floatFile, { force: true });
  }
}
