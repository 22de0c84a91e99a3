#!/usr/bin/env bash
# Every run behind docs/results.md, by name. From the repository root (next to ../shared):
#
#   bash experiments/run.sh TABLE            # the runs of one table, then the table
#   bash experiments/run.sh --list           # the tables and their runs
#   bash experiments/run.sh --run NAME...    # some runs by name (e.g. ptb/aggressive-he), no table
#
# Tables: ptb (the remedies on PTB), multi30k (the remedies on Multi30k English), hvae (the
# hierarchical VAE beside the flat one on both corpora), latent (the latent size on PTB).
# Each run writes runs/<corpus>/<name>/ (report.json: validation and test metrics of the best
# checkpoint; metrics.jsonl: each epoch's seconds and tokens per second) and <name>.log; the
# runs named in K100 are also scored with K=100 importance samples (test-k100.json, a column
# of the tables: the K=20 bound is loose for a model that puts many nats in z; a collapsed
# model's is tight (K=100 moved none of the collapsed rows by more than 0.1 nats), so only
# the rows with a live z are scored again). A name
# ending in -sN is the same run with --seed N (seed 0 otherwise: the data split, the
# initialization and the noise all change with it). Two
# runs at a time (a 2-core machine: one BLAS thread each). A run whose report.json exists is
# not run again. Environment: DATA (../shared/data), RUNS (runs), JOBS (2), QUICK=1 (the first
# 300 lines of each file, 2 epochs: a check of the commands).
set -euo pipefail

DATA=${DATA:-../shared/data}
RUNS=${RUNS:-runs}
JOBS=${JOBS:-2}
EPOCHS_PTB=15
EPOCHS_M30K=5
# Autoencoder pre-training of pretrain-fb: a third of PTB's run (505 steps), one epoch of
# Multi30k's 5 (907 steps: its epochs are 9x longer).
PRETRAIN_PTB=5
PRETRAIN_M30K=1
if [[ -n "${QUICK:-}" ]]; then
    small=$(mktemp -d)
    trap 'rm -rf "$small"' EXIT
    mkdir -p "$small/ptb" "$small/multi30k"
    for f in ptb/ptb.valid.txt ptb/ptb.test.txt multi30k/train.en multi30k/val.en multi30k/test.en; do
        head -n 300 "$DATA/$f" > "$small/$f"
    done
    DATA=$small RUNS="$RUNS-quick" EPOCHS_PTB=2 EPOCHS_M30K=2 PRETRAIN_PTB=1 PRETRAIN_M30K=1
fi

# The PTB setting of the real-text issue: PTB's validation split for training (its training
# split is not in ../shared), 5% of it held out, tested on all of PTB's test split.
PTB=(--corpus "$DATA/ptb/ptb.valid.txt" --valid-fraction 0.05 --test "$DATA/ptb/ptb.test.txt"
     --epochs "$EPOCHS_PTB")
# Multi30k English with its own splits, lower-cased, words seen twice (about 5,900 words).
M30K=(--corpus "$DATA/multi30k/train.en" --valid "$DATA/multi30k/val.en"
      --test "$DATA/multi30k/test.en" --lowercase --min-count 2 --epochs "$EPOCHS_M30K")
MODEL=(--embed-dim 256 --hidden-dim 256 --latent-dim 32 --lr 1e-3 --iw-samples 20)
HVAE=(--model hierarchical --latent-dim2 16 --prior-hidden 128)

# The remedies: every run starts from "none" and changes what its name says.
NONE=(--kl-schedule constant --word-dropout 0 --free-bits 0)
declare -A REMEDY=(
  [none]=""
  [annealing]="--kl-schedule linear --kl-warmup 500"
  [word-dropout]="--kl-schedule linear --kl-warmup 500 --word-dropout 0.25"
  [free-bits]="--kl-schedule linear --kl-warmup 500 --free-bits 0.5"
  [all-three]="--kl-schedule linear --kl-warmup 500 --word-dropout 0.5 --free-bits 0.5"
  # Variants (docs/results.md says of what): Fu et al.'s schedule without their PTB setup,
  # the capped aggressive loop, Li et al.'s pre-training with Kingma's free bits.
  [cyclical]="--kl-schedule cyclical --kl-cycles 4"
  [aggressive-capped]="--kl-schedule linear --kl-warmup 500 --aggressive-capped --aggressive-steps 10"
  [pretrain-fb]="--kl-schedule linear --kl-warmup 500 --free-bits 0.15"  # + pre-training
  # The papers' methods (docs/remedies.md): Fu et al.'s PTB setup, He et al.'s loop (the
  # encoder with its own embedding), Li et al.'s per-sentence threshold (0.15 x 32 in all).
  [cyclical-fu]="--kl-schedule cyclical --kl-cycles 4 --kl-ratio 0.5 --kl-cycle-start 0.1 --lr-cycles"
  [aggressive-he]="--kl-schedule linear --kl-warmup 500 --aggressive --no-share-embeddings"
  [pretrain-threshold]="--kl-schedule linear --kl-warmup 500 --kl-threshold 4.8"  # + pre-training
  # The control of aggressive-he (by --run only): its separate embeddings, without the loop.
  [annealing-own-embed]="--kl-schedule linear --kl-warmup 500 --no-share-embeddings"
)
REMEDIES=(none annealing word-dropout free-bits all-three cyclical aggressive-capped pretrain-fb
          cyclical-fu aggressive-he pretrain-threshold)
K100=(ptb/pretrain-fb ptb/all-three ptb/pretrain-threshold multi30k/pretrain-fb
      multi30k/pretrain-threshold)

declare -A TABLE=(
  [ptb]="${REMEDIES[*]/#/ptb/}"
  [multi30k]="${REMEDIES[*]/#/multi30k/}"
  [hvae]="ptb/all-three ptb/hvae-all-three ptb/word-dropout ptb/hvae-word-dropout
          ptb/pretrain-fb ptb/hvae-pretrain-fb multi30k/all-three multi30k/hvae-all-three
          multi30k/word-dropout multi30k/hvae-word-dropout multi30k/pretrain-fb
          multi30k/hvae-pretrain-fb"
  [latent]="ptb/pretrain-fb-z2 ptb/pretrain-fb-z4 ptb/pretrain-fb-z8 ptb/pretrain-fb-z16
            ptb/pretrain-fb ptb/pretrain-fb-z64"
)

options() {  # corpus/name -> the options of minivae train
    local corpus=${1%%/*} name=${1#*/} extra=()
    if [[ $name == hvae-* ]]; then extra+=("${HVAE[@]}"); name=${name#hvae-}; fi
    if [[ $name =~ ^(.*)-s([0-9]+)$ ]]; then
        name=${BASH_REMATCH[1]}; extra+=(--seed "${BASH_REMATCH[2]}")
    fi
    if [[ $name =~ ^(.*)-z([0-9]+)$ ]]; then
        name=${BASH_REMATCH[1]}; extra+=(--latent-dim "${BASH_REMATCH[2]}")
    fi
    [[ -n "${REMEDY[$name]+x}" ]] || { echo "no run named $1" >&2; exit 2; }
    local data=("${PTB[@]}") pretrain=$PRETRAIN_PTB
    [[ $corpus == multi30k ]] && data=("${M30K[@]}") pretrain=$PRETRAIN_M30K
    [[ $name == pretrain-* ]] && extra+=(--ae-pretrain-epochs "$pretrain")
    # shellcheck disable=SC2206
    echo "${data[@]}" "${MODEL[@]}" "${NONE[@]}" ${REMEDY[$name]} "${extra[@]}"
}

run() {  # corpus/name
    local out="$RUNS/$1"
    [[ -f $out/report.json ]] && return 0
    mkdir -p "$(dirname "$out")"
    read -ra args <<< "$(options "$1")"
    echo "== $1: minivae train ${args[*]}"
    minivae train "${args[@]}" --out "$out" --overwrite --no-progress > "$out.log" 2>&1 \
        || echo "$1 failed: see $out.log" >&2
}

tighten() {  # corpus/name: the test NLL with K=100, for the table's NLL K=100 column
    local out="$RUNS/$1"
    [[ -f $out/test-k100.json || ! -f $out/report.json ]] && return 0
    minivae eval "$out" --split test --iw-samples 100 --json > "$out/test-k100.json.tmp" \
        2>> "$out.log" && mv "$out/test-k100.json.tmp" "$out/test-k100.json"
}

if [[ ${1:-} == --list ]]; then
    for t in "${!TABLE[@]}"; do echo "$t:" ${TABLE[$t]}; done
    exit 0
fi
export OPENBLAS_NUM_THREADS=1
by_name=""
if [[ ${1:-} == --run ]]; then
    by_name=1; shift
    runs=("$@")
    for r in "${runs[@]}"; do options "$r" > /dev/null; done  # an unknown name stops here
else
    [[ -n "${TABLE[${1:-}]+x}" ]] || { echo "usage: $0 TABLE|--list|--run NAME... (tables: ${!TABLE[*]})" >&2; exit 2; }
    read -ra runs <<< "$(echo ${TABLE[$1]})"
fi
for r in "${runs[@]}"; do
    run "$r" &
    while [[ $(jobs -rp | wc -l) -ge $JOBS ]]; do sleep 5; done
done
wait
for r in "${runs[@]}"; do
    base=$r  # a seed replicate (-sN) is scored as its row is
    [[ $r =~ ^(.*)-s[0-9]+$ ]] && base=${BASH_REMATCH[1]}
    [[ " ${K100[*]} " == *" $base "* ]] || continue
    tighten "$r" &
    while [[ $(jobs -rp | wc -l) -ge $JOBS ]]; do sleep 5; done
done
wait
[[ -n $by_name ]] && exit 0
python -m minivae.benchmarks.runs_table --split test --names "$(IFS=,; echo "${runs[*]}")" \
    "${runs[@]/#/$RUNS/}"
