#!/usr/bin/env bash
# The runs behind docs/dialogue.md's table: DailyDialog, HRED (no z), CVAE, CVAE + bag of
# words and the kgCVAE (+ act), each trained for at most 60 minutes on one core, then scored
# on the 6,740 test pairs (10 responses each). From the repository root (next to ../shared):
#
#   bash experiments/dialog.sh               # every row, JOBS (2) at a time, then the table
#   bash experiments/dialog.sh kgcvae hred   # some rows
#
# Each run writes runs/dialog/<name>/ and <name>.log; a run whose report.json exists is not
# run again. Environment: DATA (../shared/data/dailydialog), RUNS (runs), MINUTES (each run's
# budget, 60), JOBS (2), QUICK=1 (--quick settings and 3 minutes each: a check of the
# commands).
set -euo pipefail

DATA=${DATA:-../shared/data/dailydialog}
RUNS=${RUNS:-runs}
BUDGET=(--epochs 30 --max-minutes "${MINUTES:-60}")
if [[ -n "${QUICK:-}" ]]; then
    BUDGET=(--quick --max-minutes 3) RUNS="$RUNS-quick"
fi
export OPENBLAS_NUM_THREADS=1 MINIVAE_THREADS=1

declare -A ROWS=(
  [hred]="--latent-dim 0 --act-dim 0 --no-bow"
  [cvae]="--act-dim 0 --no-bow"
  [cvae-bow]="--act-dim 0"
  [kgcvae]=""
)
ORDER=(hred cvae cvae-bow kgcvae)

run() {  # name
    local name=$1 out="$RUNS/dialog/$1"
    [[ -f $out/report.json ]] && return 0
    mkdir -p "$RUNS/dialog"
    echo "== dialog/$name: minivae dialog train --data $DATA ${BUDGET[*]} ${ROWS[$name]}"
    # shellcheck disable=SC2086
    minivae dialog train --data "$DATA" "${BUDGET[@]}" ${ROWS[$name]} --out "$out" \
        --overwrite --no-progress > "$out.log" 2>&1 || echo "dialog/$name failed: see $out.log" >&2
}

NAMES=("$@")
[[ ${#NAMES[@]} -gt 0 ]] || NAMES=("${ORDER[@]}")
for name in "${NAMES[@]}"; do
    [[ -n ${ROWS[$name]+x} ]] || { echo "unknown row $name (rows: ${ORDER[*]})" >&2; exit 2; }
done
for name in "${NAMES[@]}"; do
    run "$name" &
    while [[ $(jobs -rp | wc -l) -ge ${JOBS:-2} ]]; do sleep 5; done
done
wait
python -m minivae.benchmarks.runs_table --dialogue --names "$(IFS=,; echo "${NAMES[*]}")" \
    "${NAMES[@]/#/$RUNS/dialog/}"
