#!/usr/bin/env bash
# The reference workload end to end on the GPU machine: `tang-lora train` with the recipe's
# defaults (1 epoch, micro-batch 4, accumulation 4, cutoff 256) on the records of DATA
# (default data/train.json from `tang-lora data --train 1040`), timed from start to adapter
# written, on the 7B-shaped Q4_K bench model; then the peer's training loop over as many
# samples padded to 256 (1040 = 65 optimizer steps of 16), with gradient checkpointing as
# the reference (PEER_CHECKPOINTING=off for the other), and the ratio.
#   bench/peer/e2e.sh [DATA]
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${1:-data/train.json}
model=.cache/bench-7b-q4_k.gguf
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mkdir -p .cache
[ -f "$model" ] || node --input-type=module -e "import { createModel } from './dist/lib/index.js';
  await createModel('$model', { shape: '7b', type: 'q4_k', seed: 1 });"
n=$(node -e "console.log(JSON.parse(require('fs').readFileSync('$data', 'utf8')).length)")
start=$(date +%s.%N)
node dist/lib/cli/main.js train --model "$model" --data "$data" --out "$out/run" --device cuda --logging-steps 1000 >&2
ours=$(python3 -c "import time; print(round(time.time() - $start, 1))")
steps=$(( (n + 15) / 16 ))
peer=$(python3 bench/peer/hf_peft.py --shape 7b --micro-batch 4 --seq 256 --lora-r 8 --steps "$steps" --grad-accum 4 \
  --warmup 0 --checkpointing "${PEER_CHECKPOINTING:-on}")
python3 - "$ours" "$peer" "$n" <<'PY'
import json, sys
ours, peer, n = float(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
print(json.dumps({"device": peer["device"], "samples": n, "oursSeconds": ours, "peerSeconds": peer["timedSeconds"],
                  "peerCheckpointing": peer["checkpointing"], "speedup": round(peer["timedSeconds"] / ours, 2)}))
PY
