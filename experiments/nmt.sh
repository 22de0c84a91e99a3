#!/usr/bin/env bash
# The runs behind docs/translation.md's results: Multi30k German -> English, each trained for
# at most 60 minutes. From the repository root (next to ../shared):
#
#   bash experiments/nmt.sh            # the model, then the two ablations, then the table
#   bash experiments/nmt.sh latent     # does z carry anything? the remedies on the --quick model
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

if [[ ${1:-} == latent ]]; then
    # docs/translation.md, "Can the latent variable carry something?": the --quick model (two
    # epochs, one thread each, two runs at a time) with z, without it, and with the papers'
    # remedies (docs/remedies.md) that the translation model can take: Li et al.'s threshold
    # with and without their pre-training (their per-dimension target of 0.25 nats, 8 / 32,
    # times Z = 16), Fu et al.'s cyclical schedule (their M, R and start; no learning-rate
    # cycles: two epochs cannot hold four), and the same without label smoothing. Sampled
    # translations and beam search on all 1,000 test sources (--eval-limit 0).
    BUDGET=(--quick --eval-limit 0 --threads 1) RUNS="$RUNS/nmt-latent"
    THRESHOLD=(--kl-threshold 4)
    CYCLICAL=(--kl-schedule cyclical --kl-cycles 4 --kl-ratio 0.5 --kl-cycle-start 0.1)
    declare -A LATENT=(
      [z]="" [no-z]="--latent-dim 0" [threshold]="${THRESHOLD[*]}"
      [pretrain-threshold]="${THRESHOLD[*]} --ae-pretrain-epochs 1 --epochs 3"
      [cyclical-fu]="${CYCLICAL[*]}" [z-ls0]="--label-smoothing 0"
      [threshold-ls0]="${THRESHOLD[*]} --label-smoothing 0"
      [cyclical-fu-ls0]="${CYCLICAL[*]} --label-smoothing 0"
    )
    NAMES=(no-z z threshold pretrain-threshold cyclical-fu z-ls0 threshold-ls0 cyclical-fu-ls0)
    for name in "${NAMES[@]}"; do
        # shellcheck disable=SC2086
        run "$name" ${LATENT[$name]} &
        while [[ $(jobs -rp | wc -l) -ge ${JOBS:-2} ]]; do sleep 5; done
    done
    wait
    python -m minivae.benchmarks.runs_table --translation --names "$(IFS=,; echo "${NAMES[*]}")" \
        "${NAMES[@]/#/$RUNS/nmt/}"
    exit 0
fi

run attention-z --threads "${THREADS:-1}"
run no-z --latent-dim 0 --threads 1 &
run no-attention --attention none --threads 1 &
wait
python -m minivae.benchmarks.runs_table --translation "$RUNS/nmt/attention-z" "$RUNS/nmt/no-z" \
    "$RUNS/nmt/no-attention"
