#!/usr/bin/env bash
# One command on the GPU machine: tang-lora's bench and the transformers + peft peer on the
# same shape and card, then the ratios. Arguments go to both (default: the 7B Q4_K target).
#   bench/peer/compare.sh [--shape 7b] [--micro-batch 4] [--seq 256] [--lora-r 8]
set -euo pipefail
cd "$(dirname "$0")/../.."
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--shape 7b --micro-batch 4 --seq 256 --lora-r 8)
ours=$(node scripts/bench.mjs --quant "${QUANT:-q4_k}" --device cuda "${args[@]}")
echo "$ours"
# one process per configuration, so neither run's cached blocks count in the other's memory
peer=$(python3 bench/peer/hf_peft.py --checkpointing off "${args[@]}"; python3 bench/peer/hf_peft.py --checkpointing on "${args[@]}")
echo "$peer"
python3 - "$ours" "$peer" <<'PY'
import json, sys
ours = json.loads(sys.argv[1])
peers = [json.loads(l) for l in sys.argv[2].splitlines() if l.strip()]
plain = next(p for p in peers if not p["checkpointing"])
ckpt = next((p for p in peers if p["checkpointing"]), None)
print(json.dumps({
    "device": ours["device"],
    "speedVsPeer": round(ours["tokensPerSec"] / plain["tokensPerSec"], 3),
    "speedVsPeerCheckpointing": round(ours["tokensPerSec"] / ckpt["tokensPerSec"], 3) if ckpt else None,
    "memoryGiB": ours["deviceMemoryUsedGiB"],
    "peerMemoryGiB": plain["deviceMemoryUsedGiB"],
    "peerCheckpointingMemoryGiB": ckpt["deviceMemoryUsedGiB"] if ckpt else None,
    "peerPeakAllocatedGiB": plain["peakAllocatedGiB"],
    "peerCheckpointingPeakAllocatedGiB": ckpt["peakAllocatedGiB"] if ckpt else None,
}))
PY
