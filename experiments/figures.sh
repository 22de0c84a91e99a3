#!/usr/bin/env bash
# The figures of the README, docs/conditional.md and docs/benchmarks.md, each from the command
# a user would type, on a machine doing nothing else (the speed figures need it). From the
# repository root (next to ../shared):
#
#   bash experiments/figures.sh          # about 30 minutes on 2 cores
#   bash experiments/figures.sh default-run cvae-label   # only the figures named
#
# The README's default run, conditional VAE table and nmt --quick figures are now recorded by
# `python experiments/records.py record NAME` (experiments/records/NAME.json, checked against
# the text by tests/test_figures.py); their runs here are the same commands, unrecorded.
#
# Writes runs/figures/<name>.log (and the run folders beside them). Figures: default-run,
# cvae-translate, cvae-dialogue, cvae-label, bench-step, bench-eval-1, bench-eval-2,
# bench-nmt, multi30k-epoch, nmt-quick.
set -uo pipefail

DATA=${DATA:-../shared/data}
OUT=${RUNS:-runs}/figures
mkdir -p "$OUT"

ONLY=" $* "
figure() {  # name, command...
    local name=$1
    shift
    [[ $ONLY == "  " || $ONLY == *" $name "* ]] || return 0
    echo "== $name: $*"
    { echo "\$ $*"; date -u; time "$@"; } > "$OUT/$name.log" 2>&1 \
        || echo "$name failed: see $OUT/$name.log" >&2
}

lscpu | grep -E "Model name|^CPU\(s\)" > "$OUT/machine.txt"
# The README's quick start, and the conditional VAE's default runs.
figure default-run minivae train --out "$OUT/default" --overwrite --no-progress
for task in translate dialogue label; do
    figure "cvae-$task" minivae cvae train --task "$task" --out "$OUT/cvae-$task" --overwrite \
        --no-progress
done
# Speed: the training step against PyTorch at 1 thread and at every core, with the cost split
# and each contender's peak memory; the evaluation against the loop it replaced; the
# translation step.
figure bench-step minivae bench --rounds 7
figure bench-eval-1 minivae bench eval --threads 1
figure bench-eval-2 minivae bench eval --threads 2
figure bench-nmt minivae bench nmt --thread-counts 1 2 --no-memory
# A whole epoch at the PTB step's sizes (V=10,000, E=H=256, Z=32, batch 32) on the English
# side of Multi30k, for its tokens per second against the step benchmark's.
figure multi30k-epoch minivae train --corpus "$DATA/multi30k/train.en" --valid \
    "$DATA/multi30k/val.en" --lowercase --min-count 1 --max-vocab 10000 --batch-size 32 \
    --embed-dim 256 --hidden-dim 256 --latent-dim 32 --epochs 1 --iw-samples 1 \
    --out "$OUT/multi30k-epoch" --overwrite --no-progress
# Translation: --quick on Multi30k (recognisable translations within 5 minutes).
M=$DATA/multi30k
figure nmt-quick minivae nmt train --quick --source "$M/train.de" --target "$M/train.en" \
    --valid-source "$M/val.de" --valid-target "$M/val.en" --test-source "$M/test.de" \
    --test-target "$M/test.en" --out "$OUT/nmt-quick" --overwrite --no-progress
