#!/usr/bin/env bash
# Where a training step's GPU time goes, per kernel, on the GPU machine: Nsight Compute times every
# kernel of the bench's warm-up step and one timed step (a short 7B-shaped Q4_K model unless told),
# and the last step's kernels are summed by name, largest first, against the step's kernel total.
# Arguments go to scripts/bench.mjs after the defaults (e.g. --no-checkpointing --bf16-weights).
#   scripts/profile-kernels.sh [bench args]        CSV kept in $PROFILE_CSV (default /tmp/kernels.csv)
set -euo pipefail
cd "$(dirname "$0")/.."
csv=${PROFILE_CSV:-/tmp/kernels.csv}
# --clock-control none: the card's own clocks, as the bench runs (METHOD.md on the GPU machine)
ncu --clock-control none --metrics gpu__time_duration.sum --csv --print-units base \
  node scripts/bench.mjs --shape 7b --layers 2 --quant q4_k --device cuda --steps 1 --warmup 1 "$@" > "$csv"
python3 - "$csv" <<'PY'
import collections, csv, re, sys
lines = open(sys.argv[1]).read().splitlines()
rows = list(csv.reader(lines[next(i for i, l in enumerate(lines) if l.startswith('"ID"')):]))
head, rows = rows[0], [r for r in rows[1:] if len(r) == len(rows[0])]
name, value = head.index('Kernel Name'), head.index('Metric Value')
step = rows[len(rows) // 2:]  # the warm-up step and the timed one launch the same kernels
by = collections.defaultdict(lambda: [0, 0.0])
for r in step:
    k = re.sub(r'\(.*', '', r[name])[:90]
    by[k][0] += 1
    by[k][1] += float(r[value].replace(',', '')) / 1e3  # ns -> us
total = sum(t for _, t in by.values())
print(f'{len(step)} kernels, {total / 1e3:.2f} ms of kernel time in one step')
for k, (n, t) in sorted(by.items(), key=lambda kv: -kv[1][1]):
    print(f'{t / 1e3:8.3f} ms {100 * t / total:5.1f}% {n:5d} x {t / n:8.1f} us  {k}')
PY
