#!/usr/bin/env python3
"""The peer for `npm run bench`: the same training step through transformers + peft.

A random-init Llama of the bench's shape in bf16 (SDPA attention), LoRA on the seven
projections (r=8, alpha 16, dropout 0.05, adapters in f32 as peft keeps them), bf16 autocast,
fused torch AdamW, micro-batch rows x seq with a 32-token masked prompt per row (as the bench).
Prints one JSON line per run: with and without gradient checkpointing. msPerStep is per
micro-batch; with --grad-accum 4 --steps 65 --warmup 0 timedSeconds is the reference
workload's training loop (1040 samples padded to 256, one epoch).

  python3 bench/peer/hf_peft.py --shape 7b --micro-batch 4 --seq 256 --lora-r 8
"""
import argparse
import json
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM

# The bench's shapes (lib/model/create.ts SHAPES), as transformers configs.
SHAPES = {
    "tiny": dict(num_hidden_layers=2, hidden_size=64, intermediate_size=128, num_attention_heads=4, num_key_value_heads=2, vocab_size=32000),
    "small": dict(num_hidden_layers=4, hidden_size=128, intermediate_size=256, num_attention_heads=4, num_key_value_heads=2, vocab_size=32000),
    "1b": dict(num_hidden_layers=22, hidden_size=2048, intermediate_size=5632, num_attention_heads=32, num_key_value_heads=4, vocab_size=32000),
    "7b": dict(num_hidden_layers=32, hidden_size=4096, intermediate_size=11008, num_attention_heads=32, num_key_value_heads=32, vocab_size=32000),
    "8b-gqa": dict(num_hidden_layers=32, hidden_size=4096, intermediate_size=14336, num_attention_heads=32, num_key_value_heads=8, vocab_size=128256),
}
MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
PEAK = {"H200": 989e12, "H100": 989e12}  # dense bf16 FLOP/s, NVIDIA's published figures (as scripts/bench.mjs)


def run(args, checkpointing):
    torch.manual_seed(0)
    config = LlamaConfig(**SHAPES[args.shape], rms_norm_eps=1e-5, attn_implementation="sdpa", torch_dtype=torch.bfloat16)
    torch.set_default_dtype(torch.bfloat16)  # made in bf16 on the card: no f32 copy in the cache
    with torch.device("cuda"):
        model = LlamaForCausalLM(config)
    torch.set_default_dtype(torch.float32)
    n_params = sum(p.numel() for p in model.parameters())
    if checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    lora = LoraConfig(r=args.lora_r, lora_alpha=2 * args.lora_r, lora_dropout=0.05, target_modules=MODULES, bias="none", task_type="CAUSAL_LM")
    model = get_peft_model(model, lora)
    for p in model.parameters():
        if p.requires_grad:
            p.data = p.data.float()
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4, fused=True)

    rows, seq = args.micro_batch, args.seq
    ids = (3 + (torch.arange(rows * seq, device="cuda") * 7919) % (config.vocab_size - 3)).view(rows, seq)
    labels = ids.clone()
    labels[:, :32] = -100
    torch.cuda.reset_peak_memory_stats()
    elapsed = 0.0
    for s in range(args.warmup + args.steps):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(args.grad_accum):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = model(input_ids=ids, labels=labels).loss / args.grad_accum
            loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        if s >= args.warmup:
            elapsed += time.perf_counter() - t0
    free, total = torch.cuda.mem_get_info()
    name = torch.cuda.get_device_name()
    ms = elapsed / (args.steps * args.grad_accum) * 1000  # per micro-batch
    peak = next((v for k, v in PEAK.items() if k in name), None)
    out = {
        "peer": "transformers+peft", "checkpointing": checkpointing, "shape": args.shape, "microBatch": rows, "seq": seq,
        "loraR": args.lora_r, "gradAccum": args.grad_accum, "timedSeconds": round(elapsed, 2), "device": name, "tokensPerSec": round(rows * seq / ms * 1000), "msPerStep": round(ms, 1),
        "peakAllocatedGiB": round(torch.cuda.max_memory_allocated() / 2**30, 2),
        "peakReservedGiB": round(torch.cuda.max_memory_reserved() / 2**30, 2),
        "deviceMemoryUsedGiB": round((total - free) / 2**30, 2),
        "mfu": round(4 * n_params * rows * seq / (ms / 1000) / peak, 4) if peak else None,
        "loss": round(loss.item() * args.grad_accum, 4),
    }
    del model, opt
    torch.cuda.empty_cache()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", default="7b", choices=SHAPES)
    ap.add_argument("--micro-batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--lora-r", type=int, default=8)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--grad-accum", type=int, default=1, help="micro-batches per optimizer step")
    ap.add_argument("--checkpointing", choices=["both", "on", "off"], default="both")
    args = ap.parse_args()
    for ckpt in {"both": [False, True], "on": [True], "off": [False]}[args.checkpointing]:
        print(json.dumps(run(args, ckpt)), flush=True)


if __name__ == "__main__":
    main()
