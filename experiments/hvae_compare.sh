#!/usr/bin/env bash
# The flat VAE against the hierarchical VAE (issue 16), on PTB and on the English side of
# Multi30k, in the PTB setting of the real-text issue: E=H=256, Z=32 (the hierarchical
# model's z1; its top layer z2 has 16 dimensions), 15 epochs, Adam 1e-3, a linear KL
# warm-up over 500 steps. Each model is trained twice: with the remedies against collapse
# (word dropout 0.5, free bits 0.5 per dimension of every layer) and with almost none
# (word dropout 0.25, no free bits), where the issue-15 flat run collapses.
#
#   bash experiments/hvae_compare.sh                 # every run, then the tables
#   bash experiments/hvae_compare.sh ptb             # one corpus: ptb or multi30k
#   QUICK=1 bash experiments/hvae_compare.sh         # a check of the commands: the first
#                                                   # 300 lines of each file, 1 epoch
#
# Run from the repository root (next to ../shared). Every run writes runs/hvae/<name>/
# (report.json: validation and test NLL, perplexity, KL, MI and active units, each layer's
# too; metrics.jsonl: seconds and tokens per second of each epoch) and <name>.log; the
# tables for docs/results.md are printed at the end by minivae.benchmarks.runs_table.
# Environment: DATA (../shared/data), OUT (runs/hvae), EPOCHS (15), DEVICE (auto),
# QUICK, QUICK_LINES (300).
set -euo pipefail

DATA=${DATA:-../shared/data}
OUT=${OUT:-runs/hvae}
EPOCHS=${EPOCHS:-15}
DEVICE=${DEVICE:-auto}
CORPORA=${1:-ptb multi30k}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}

if [[ -n "${QUICK:-}" ]]; then
    # Heads of the data files, outside the repository: every command, in a minute or two.
    EPOCHS=1
    OUT="$OUT-quick"
    small=$(mktemp -d)
    trap 'rm -rf "$small"' EXIT
    mkdir -p "$small/ptb" "$small/multi30k"
    for f in ptb/ptb.valid.txt ptb/ptb.test.txt multi30k/train.en multi30k/val.en multi30k/test.en; do
        head -n "${QUICK_LINES:-300}" "$DATA/$f" > "$small/$f"
    done
    DATA=$small
fi
mkdir -p "$OUT"

SETTING=(--embed-dim 256 --hidden-dim 256 --latent-dim 32 --epochs "$EPOCHS" --optimizer adam
         --lr 1e-3 --kl-schedule linear --kl-warmup 500 --device "$DEVICE" --no-progress)
FLAT=(--model vae)
HIERARCHICAL=(--model hierarchical --latent-dim2 16 --prior-hidden 128)
REMEDIES=(--word-dropout 0.5 --free-bits 0.5)
NONE=(--word-dropout 0.25 --free-bits 0)

data_args() {
    case $1 in
        # PTB's training split is not in ../shared: train on ptb.valid.txt, 5% held out.
        ptb) echo --corpus "$DATA/ptb/ptb.valid.txt" --valid-fraction 0.05 \
                  --test "$DATA/ptb/ptb.test.txt" ;;
        # Multi30k with its own splits, lower-cased, words seen twice (about 5,900 words).
        multi30k) echo --corpus "$DATA/multi30k/train.en" --valid "$DATA/multi30k/val.en" \
                       --test "$DATA/multi30k/test.en" --lowercase --min-count 2 ;;
        *) echo "unknown corpus $1 (ptb or multi30k)" >&2; exit 2 ;;
    esac
}

train() {  # name, then the options of minivae train
    local name=$1
    shift
    echo "== $name: minivae train $*"
    minivae train "$@" --out "$OUT/$name" --overwrite > "$OUT/$name.log" 2>&1 \
        || { echo "$name failed, see $OUT/$name.log" >&2; tail -5 "$OUT/$name.log" >&2; exit 1; }
    sed -n '/== Test metrics/,$p' "$OUT/$name.log" | grep -E "^    (NLL|z1:|z2:)" || true
}

for corpus in $CORPORA; do
    read -ra DATA_ARGS <<< "$(data_args "$corpus")"
    train "$corpus-vae-remedies" "${DATA_ARGS[@]}" "${SETTING[@]}" "${FLAT[@]}" "${REMEDIES[@]}"
    train "$corpus-hvae-remedies" "${DATA_ARGS[@]}" "${SETTING[@]}" "${HIERARCHICAL[@]}" \
        "${REMEDIES[@]}"
    train "$corpus-vae-none" "${DATA_ARGS[@]}" "${SETTING[@]}" "${FLAT[@]}" "${NONE[@]}"
    train "$corpus-hvae-none" "${DATA_ARGS[@]}" "${SETTING[@]}" "${HIERARCHICAL[@]}" "${NONE[@]}"
done

for corpus in $CORPORA; do
    echo
    echo "### $corpus (test set; per-layer columns empty for the flat VAE)"
    python -m minivae.benchmarks.runs_table --split test \
        --names "flat VAE + remedies,hierarchical VAE + remedies,flat VAE,hierarchical VAE" \
        "$OUT/$corpus-vae-remedies" "$OUT/$corpus-hvae-remedies" \
        "$OUT/$corpus-vae-none" "$OUT/$corpus-hvae-none"
done
