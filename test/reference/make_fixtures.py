#!/usr/bin/env python3
"""Reference numbers for the engine's parity tests, from PyTorch + peft (float64, CPU).

Reads the tiny base models made by create-model (test/helpers/fixture-models.ts) with
gguf-py, dequantizes their weights, builds the same model as a transformers
LlamaForCausalLM with a peft LoRA on all seven projections, fixes LoRA A and B to nonzero
values (written as lora_init.gguf in llama.cpp's adapter format), and dumps to
fixtures/<type>.json:
  - the packed micro-batch used (two rows, three samples, prompt tokens masked, padding),
  - each sample's mean loss and the batch's mean loss over its target tokens,
  - the gradient of that mean loss for every LoRA tensor (in GGUF layout),
  - for the f32 base: 5 AdamW steps of 2 accumulated micro-batches each, with global-norm
    clipping and weight decay: the loss and pre-clip gradient norm of each step, and A and B
    after the last step.
Packed samples are computed one at a time (positions restart and attention never crosses
samples, so this is what packing must reproduce).

Usage (the GPU machine has torch, transformers and peft; no GPU is used):
  node dist/test/helpers/fixture-models.js <models>
  python3 test/reference/make_fixtures.py <models> test/reference/fixtures
"""
import hashlib
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'native', 'vendor', 'llama.cpp', 'gguf-py'))
import gguf  # noqa: E402
from gguf.quants import dequantize  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM  # noqa: E402

RANK, ALPHA = 4, 8.0
MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']
GGUF_MODULE = {'q_proj': 'attn_q', 'k_proj': 'attn_k', 'v_proj': 'attn_v', 'o_proj': 'attn_output',
               'gate_proj': 'ffn_gate', 'up_proj': 'ffn_up', 'down_proj': 'ffn_down'}
TRAIN = dict(lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01, max_grad_norm=0.5, steps=5)
torch.set_default_dtype(torch.float64)


def field(reader, key):
    return reader.fields[key].contents()


def unpermute(w, n_head):
    """GGUF row order of q/k (llama.cpp's convert permutes HF rows for NORM rope) -> HF order."""
    out = w.shape[0]
    return w.reshape(n_head, out // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def permute(w, n_head):
    """HF row order -> GGUF row order (as convert_hf_to_gguf / convert_lora_to_gguf do)."""
    out = w.shape[0]
    return w.reshape(n_head, 2, out // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def load_model(path):
    r = gguf.GGUFReader(path)
    hp = dict(n_layer=int(field(r, 'llama.block_count')), n_embd=int(field(r, 'llama.embedding_length')),
              n_ff=int(field(r, 'llama.feed_forward_length')), n_head=int(field(r, 'llama.attention.head_count')),
              n_head_kv=int(field(r, 'llama.attention.head_count_kv')),
              eps=float(field(r, 'llama.attention.layer_norm_rms_epsilon')),
              rope_base=float(field(r, 'llama.rope.freq_base')))
    w = {}
    for t in r.tensors:
        ne = [int(x) for x in t.shape]
        w[t.name] = dequantize(t.data, t.tensor_type).astype(np.float64).reshape(list(reversed(ne)))
    hp['n_vocab'] = w['token_embd.weight'].shape[0]
    cfg = LlamaConfig(vocab_size=hp['n_vocab'], hidden_size=hp['n_embd'], intermediate_size=hp['n_ff'],
                      num_hidden_layers=hp['n_layer'], num_attention_heads=hp['n_head'],
                      num_key_value_heads=hp['n_head_kv'], rms_norm_eps=hp['eps'], rope_theta=hp['rope_base'],
                      max_position_embeddings=4096, tie_word_embeddings=False, attention_bias=False,
                      mlp_bias=False)
    cfg._attn_implementation = 'eager'
    model = LlamaForCausalLM(cfg).to(torch.float64)
    sd = {'model.embed_tokens.weight': w['token_embd.weight'], 'model.norm.weight': w['output_norm.weight'],
          'lm_head.weight': w['output.weight']}
    for i in range(hp['n_layer']):
        b, m = f'blk.{i}.', f'model.layers.{i}.'
        sd[m + 'input_layernorm.weight'] = w[b + 'attn_norm.weight']
        sd[m + 'post_attention_layernorm.weight'] = w[b + 'ffn_norm.weight']
        sd[m + 'self_attn.q_proj.weight'] = unpermute(w[b + 'attn_q.weight'], hp['n_head'])
        sd[m + 'self_attn.k_proj.weight'] = unpermute(w[b + 'attn_k.weight'], hp['n_head_kv'])
        sd[m + 'self_attn.v_proj.weight'] = w[b + 'attn_v.weight']
        sd[m + 'self_attn.o_proj.weight'] = w[b + 'attn_output.weight']
        sd[m + 'mlp.gate_proj.weight'] = w[b + 'ffn_gate.weight']
        sd[m + 'mlp.up_proj.weight'] = w[b + 'ffn_up.weight']
        sd[m + 'mlp.down_proj.weight'] = w[b + 'ffn_down.weight']
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in sd.items()}, strict=False)
    assert not unexpected and all('rotary' in k for k in missing), (missing, unexpected)
    return model, hp


def lora_modules(model):
    """(layer, hf module name, peft LoraLayer) in the engine's order."""
    out = []
    for name, mod in model.named_modules():
        if hasattr(mod, 'lora_A') and 'default' in mod.lora_A:
            parts = name.split('.')
            layer = int(parts[parts.index('layers') + 1])
            out.append((layer, parts[-1], mod))
    order = {m: i for i, m in enumerate(MODULES)}
    return sorted(out, key=lambda x: (x[0], order[x[1]]))


def gguf_name(layer, module, ab):
    return f'blk.{layer}.{GGUF_MODULE[module]}.weight.lora_{ab}'


def to_gguf(layer, module, ab, t, hp):
    """A peft LoRA tensor (A: (r, in), B: (out, r)) in the GGUF adapter's layout and row order."""
    x = t.detach().numpy()
    if ab == 'b' and module == 'q_proj':
        x = permute(x, hp['n_head'])
    if ab == 'b' and module == 'k_proj':
        x = permute(x, hp['n_head_kv'])
    return x


def from_gguf(layer, module, ab, x, hp):
    if ab == 'b' and module == 'q_proj':
        x = unpermute(x, hp['n_head'])
    if ab == 'b' and module == 'k_proj':
        x = unpermute(x, hp['n_head_kv'])
    return torch.from_numpy(np.ascontiguousarray(x))


def make_lora_init(hp, path):
    """Fixed nonzero A and B (seeded), written as a llama.cpp LoRA adapter GGUF."""
    rng = np.random.RandomState(1234)
    shapes = {'q_proj': (hp['n_embd'], hp['n_embd']), 'k_proj': (hp['n_embd'], hp['n_embd'] // hp['n_head'] * hp['n_head_kv']),
              'v_proj': (hp['n_embd'], hp['n_embd'] // hp['n_head'] * hp['n_head_kv']), 'o_proj': (hp['n_embd'], hp['n_embd']),
              'gate_proj': (hp['n_embd'], hp['n_ff']), 'up_proj': (hp['n_embd'], hp['n_ff']), 'down_proj': (hp['n_ff'], hp['n_embd'])}
    tensors = {}
    w = gguf.GGUFWriter(path, 'llama')
    w.add_string('general.type', 'adapter')
    w.add_string('adapter.type', 'lora')
    w.add_float32('adapter.lora.alpha', ALPHA)
    for layer in range(hp['n_layer']):
        for m in MODULES:
            fan_in, out = shapes[m]
            a = (rng.uniform(-1, 1, size=(RANK, fan_in)) / np.sqrt(fan_in)).astype(np.float32)
            b = (rng.uniform(-1, 1, size=(out, RANK)) * 0.2).astype(np.float32)
            for ab, x in (('a', a), ('b', b)):
                tensors[gguf_name(layer, m, ab)] = x
                w.add_tensor(gguf_name(layer, m, ab), x)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return tensors


def make_batch(seed, rows, length, samples, n_vocab):
    """samples: list of (row, length, prompt length). Returns the engine's flat arrays."""
    rng = np.random.RandomState(seed)
    tokens = np.zeros(rows * length, dtype=np.int64)
    labels = np.full(rows * length, -100, dtype=np.int64)
    segments = np.full(rows * length, -1, dtype=np.int64)
    fill = [0] * rows
    seg = [0] * rows
    spans = []
    for row, n, prompt in samples:
        start = row * length + fill[row]
        ids = rng.randint(3, n_vocab, size=n)
        tokens[start:start + n] = ids
        labels[start + prompt:start + n] = ids[prompt:]
        segments[start:start + n] = seg[row]
        spans.append((start, n))
        fill[row] += n
        seg[row] += 1
    tokens[segments < 0] = 2  # padding: EOS id, masked out
    return dict(rows=rows, tokens=tokens.tolist(), labels=labels.tolist(), segments=segments.tolist()), spans


def sample_nll(model, batch, spans):
    """Sum of target NLLs and target counts per sample (each sample alone, positions from 0)."""
    out = []
    for start, n in spans:
        ids = torch.tensor(batch['tokens'][start:start + n]).unsqueeze(0)
        lab = torch.tensor(batch['labels'][start:start + n]).unsqueeze(0)
        logits = model(input_ids=ids).logits[0, :-1]
        tgt = lab[0, 1:]
        keep = tgt != -100
        nll = torch.nn.functional.cross_entropy(logits[keep], tgt[keep], reduction='sum')
        out.append((nll, int(keep.sum())))
    return out


def rounded(x):
    """Floats to 9 significant digits (beyond float32's precision, far below the tolerances)."""
    if isinstance(x, float):
        return float('%.9g' % x)
    if isinstance(x, list):
        return [rounded(v) for v in x]
    if isinstance(x, dict):
        return {k: rounded(v) for k, v in x.items()}
    return x


def main():
    models_dir, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    _, hp0 = load_model(os.path.join(models_dir, 'tiny-f32.gguf'))
    init = make_lora_init(hp0, os.path.join(out_dir, 'lora_init.gguf'))
    batch1, spans1 = make_batch(11, 2, 24, [(0, 14, 5), (0, 10, 4), (1, 17, 6)], hp0['n_vocab'])
    batch2, spans2 = make_batch(12, 2, 20, [(0, 20, 7), (1, 9, 3), (1, 8, 2)], hp0['n_vocab'])

    for qtype in ['f32', 'q8_0', 'q4_0']:
        path = os.path.join(models_dir, f'tiny-{qtype}.gguf')
        model, hp = load_model(path)
        model = get_peft_model(model, LoraConfig(r=RANK, lora_alpha=ALPHA, lora_dropout=0.0, bias='none',
                                                 target_modules=MODULES))
        mods = lora_modules(model)
        params = []
        for layer, m, mod in mods:
            mod.lora_A['default'].weight.data = from_gguf(layer, m, 'a', init[gguf_name(layer, m, 'a')].astype(np.float64), hp)
            mod.lora_B['default'].weight.data = from_gguf(layer, m, 'b', init[gguf_name(layer, m, 'b')].astype(np.float64), hp)
            params += [mod.lora_A['default'].weight, mod.lora_B['default'].weight]

        def grads():
            g = {}
            for layer, m, mod in mods:
                g[gguf_name(layer, m, 'a')] = to_gguf(layer, m, 'a', mod.lora_A['default'].weight.grad, hp).ravel().tolist()
                g[gguf_name(layer, m, 'b')] = to_gguf(layer, m, 'b', mod.lora_B['default'].weight.grad, hp).ravel().tolist()
            return g

        parts = sample_nll(model, batch1, spans1)
        total = sum(p[1] for p in parts)
        loss = sum(p[0] for p in parts) / total
        model.zero_grad()
        loss.backward()
        fx = dict(model=dict(file=os.path.basename(path), sha256=hashlib.sha256(open(path, 'rb').read()).hexdigest()),
                  lora=dict(rank=RANK, alpha=ALPHA), batch=batch1, batch2=batch2,
                  sample_losses=[float(p[0] / p[1]) for p in parts], sample_targets=[p[1] for p in parts],
                  loss=float(loss), n_targets=total, grads=grads())

        if qtype == 'f32':
            opt = torch.optim.AdamW(params, lr=TRAIN['lr'], betas=(TRAIN['beta1'], TRAIN['beta2']), eps=TRAIN['eps'],
                                    weight_decay=TRAIN['weight_decay'])
            losses, norms = [], []
            for _ in range(TRAIN['steps']):
                opt.zero_grad()
                parts = sample_nll(model, batch1, spans1) + sample_nll(model, batch2, spans2)
                n = sum(p[1] for p in parts)
                step_loss = sum(p[0] for p in parts) / n  # HF: summed NLL over the accumulated window / its targets
                step_loss.backward()
                norms.append(float(torch.nn.utils.clip_grad_norm_(params, TRAIN['max_grad_norm'])))
                opt.step()
                losses.append(float(step_loss))
            weights = {}
            for layer, m, mod in mods:
                weights[gguf_name(layer, m, 'a')] = to_gguf(layer, m, 'a', mod.lora_A['default'].weight, hp).ravel().tolist()
                weights[gguf_name(layer, m, 'b')] = to_gguf(layer, m, 'b', mod.lora_B['default'].weight, hp).ravel().tolist()
            fx['train'] = dict(TRAIN, losses=losses, grad_norms=norms, weights=weights)

        with open(os.path.join(out_dir, f'{qtype}.json'), 'w') as f:
            json.dump(rounded(fx), f, separators=(',', ':'))
        print(qtype, 'loss', fx['loss'], 'samples', fx['sample_losses'], 'train' in fx and fx['train']['losses'])


if __name__ == '__main__':
    main()
