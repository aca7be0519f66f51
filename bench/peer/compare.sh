#!/usr/bin/env bash
# One command on the GPU machine: tang-lora's bench (activations recomputed, as the recipe's
# gradient checkpointing, and kept) and the transformers + peft peer (without and with
# gradient checkpointing) on the same shape and card, then the ratios. Arguments go to all
# (default: the 7B Q4_K target).
#   bench/peer/compare.sh [--shape 7b] [--micro-batch 4] [--seq 256] [--lora-r 8]
set -euo pipefail
cd "$(dirname "$0")/../.."
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--shape 7b --micro-batch 4 --seq 256 --lora-r 8)
# one process per configuration, so no run's cached blocks count in another's memory
ours=$(node scripts/bench.mjs --quant "${QUANT:-q4_k}" --device cuda "${args[@]}"
       node scripts/bench.mjs --quant "${QUANT:-q4_k}" --device cuda --no-checkpointing "${args[@]}")
echo "$ours"
peer=$(python3 bench/peer/hf_peft.py --checkpointing off "${args[@]}"; python3 bench/peer/hf_peft.py --checkpointing on "${args[@]}")
echo "$peer"
python3 - "$ours" "$peer" <<'PY'
import json, sys
ours = [json.loads(l) for l in sys.argv[1].splitlines() if l.strip()]
peers = [json.loads(l) for l in sys.argv[2].splitlines() if l.strip()]
ck, kept = (next(o for o in ours if o["checkpointing"] == c) for c in (True, False))
plain, pck = (next(p for p in peers if p["checkpointing"] == c) for c in (False, True))
print(json.dumps({
    "device": ck["device"],
    # target 1: ours (recomputing) against the peer without checkpointing, memory against the peer with it
    "speedVsPeer": round(ck["tokensPerSec"] / plain["tokensPerSec"], 3),
    "speedVsPeerCheckpointing": round(ck["tokensPerSec"] / pck["tokensPerSec"], 3),
    "keptSpeedVsPeer": round(kept["tokensPerSec"] / plain["tokensPerSec"], 3),
    "memoryGiB": ck["deviceMemoryUsedGiB"], "keptMemoryGiB": kept["deviceMemoryUsedGiB"],
    "peerMemoryGiB": plain["deviceMemoryUsedGiB"], "peerCheckpointingMemoryGiB": pck["deviceMemoryUsedGiB"],
    "peerPeakAllocatedGiB": plain["peakAllocatedGiB"], "peerCheckpointingPeakAllocatedGiB": pck["peakAllocatedGiB"],
}))
PY
