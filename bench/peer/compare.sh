#!/usr/bin/env bash
# One command on the GPU machine: tang-lora's bench (activations recomputed, as the recipe's
# gradient checkpointing; the last KEEP blocks kept; all kept, with and without bf16 weight copies;
# the memory plan within 8 GiB, within the checkpointing peer's 14.6 GiB, and on the free memory)
# and the transformers + peft peer (without and with gradient checkpointing) on the same shape and
# card, then the ratios.
# Arguments go to all (default: the 7B Q4_K target).
# Each run: 3 warm-up steps, then STEPS (10) timed ones.
#   KEEP=44 STEPS=10 bench/peer/compare.sh [--shape 7b] [--micro-batch 4] [--seq 256] [--lora-r 8]
set -euo pipefail
cd "$(dirname "$0")/../.."
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--shape 7b --micro-batch 4 --seq 256 --lora-r 8)
steps=(--steps "${STEPS:-10}" --warmup 3)
bench=(node scripts/bench.mjs --quant "${QUANT:-q4_k}" --device cuda "${steps[@]}")
# one process per configuration, so no run's cached blocks count in another's memory
ours=$("${bench[@]}" --checkpointing --no-bf16-weights "${args[@]}"
       "${bench[@]}" --keep-blocks "${KEEP:-44}" --no-bf16-weights "${args[@]}"
       "${bench[@]}" --no-checkpointing --no-bf16-weights "${args[@]}"
       "${bench[@]}" --no-checkpointing --bf16-weights "${args[@]}"
       "${bench[@]}" --memory-budget 8 "${args[@]}"
       "${bench[@]}" --memory-budget 14.6 "${args[@]}"
       "${bench[@]}" "${args[@]}")
echo "$ours"
peer=$(python3 bench/peer/hf_peft.py --checkpointing off "${steps[@]}" "${args[@]}"
       python3 bench/peer/hf_peft.py --checkpointing on "${steps[@]}" "${args[@]}")
echo "$peer"
python3 - "$ours" "$peer" <<'PY'
import json, sys
ours = [json.loads(l) for l in sys.argv[1].splitlines() if l.strip()]
peers = [json.loads(l) for l in sys.argv[2].splitlines() if l.strip()]
plain, pck = (next(p for p in peers if p["checkpointing"] == c) for c in (False, True))
def mode(o):
    bf16 = "+bf16" if o["bf16Weights"] else ""
    if o["plan"] == "auto":
        return "auto" + (f"{o['memoryBudgetGiB']}GiB" if o["memoryBudgetGiB"] else "") + f"(keep{o['keptBlocks']}{bf16})"
    return ("keepAll" if o["keptBlocks"] == o["nBlocks"] else f"keep{o['keptBlocks']}") + bf16
# target 1: a mode at least as fast as the peer without checkpointing, in no more memory
# than the peer with it
print(json.dumps({
    "device": ours[0]["device"],
    "speedVsPeer": {mode(o): round(o["tokensPerSec"] / plain["tokensPerSec"], 3) for o in ours},
    "speedVsPeerCheckpointing": {mode(o): round(o["tokensPerSec"] / pck["tokensPerSec"], 3) for o in ours},
    "memoryGiB": {mode(o): o["deviceMemoryUsedGiB"] for o in ours},
    "peerMemoryGiB": plain["deviceMemoryUsedGiB"], "peerCheckpointingMemoryGiB": pck["deviceMemoryUsedGiB"],
    "peerPeakAllocatedGiB": plain["peakAllocatedGiB"], "peerCheckpointingPeakAllocatedGiB": pck["peakAllocatedGiB"],
    "target1": [mode(o) for o in ours if o["tokensPerSec"] >= plain["tokensPerSec"]
                and o["deviceMemoryUsedGiB"] <= pck["deviceMemoryUsedGiB"]],
}))
PY
