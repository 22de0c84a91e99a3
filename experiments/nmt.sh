#!/usr/bin/env bash
# The runs behind docs/translation.md's results: Multi30k German -> English, each trained for
# at most 60 minutes. From the repository root (next to ../shared):
#
#   bash experiments/nmt.sh            # the model, then the two ablations, then the table
#
# Each run writes runs/nmt/<name>/ and <name>.log; a run whose report.json exists is not run
# again. The model runs alone on the machine; the two ablations (no latent variable, no
# attention) run side by side, one BLAS thread each, so each has one core for its 60 minutes,
# as the model had. Environment: DATA (../shared/data), RUNS (runs), THREADS (BLAS threads of
# the model's run, 1), MINUTES (each run's budget, 60), QUICK=1 (--quick settings and 4
# minutes each: a check of the commands).
set -euo pipefail

DATA=${DATA:-../shared/data}
RUNS=${RUNS:-runs}
D=$DATA/multi30k
FILES=(--source "$D/train.de" --target "$D/train.en" --valid-source "$D/val.de"
       --valid-target "$D/val.en" --test-source "$D/test.de" --test-target "$D/test.en")
BUDGET=(--epochs 30 --max-minutes "${MINUTES:-60}")
if [[ -n "${QUICK:-}" ]]; then
    BUDGET=(--quick --max-minutes 4) RUNS="$RUNS-quick"
fi
export OPENBLAS_NUM_THREADS=1

run() {  # name, options
    local name=$1 out="$RUNS/nmt/$1"
    shift
    [[ -f $out/report.json ]] && return 0
    mkdir -p "$RUNS/nmt"
    echo "== nmt/$name: minivae nmt train ${FILES[*]} ${BUDGET[*]} $*"
    minivae nmt train "${FILES[@]}" "${BUDGET[@]}" "$@" --out "$out" --overwrite \
        --no-progress > "$out.log" 2>&1 || echo "nmt/$name failed: see $out.log" >&2
}

run attention-z --threads "${THREADS:-1}"
run no-z --latent-dim 0 --threads 1 &
run no-attention --attention none --threads 1 &
wait
python -m minivae.benchmarks.runs_table --translation "$RUNS/nmt/attention-z" "$RUNS/nmt/no-z" \
    "$RUNS/nmt/no-attention"
