#!/usr/bin/env bash
# The PTB runs of docs/results.md: the text VAE trained on PTB's validation split (5% held
# out for validation), tested on all of PTB's test split, E=H=256, Z=32, 15 epochs, Adam
# 1e-3. Usage: experiments/ptb.sh NAME [NAME ...] (default: every run), from the repository
# root; run folders go to runs/ptb/NAME. Two runs at a time on a 2-core machine.
set -euo pipefail
PTB=${PTB:-../shared/data/ptb}
BASE=(--corpus "$PTB/ptb.valid.txt" --valid-fraction 0.05 --test "$PTB/ptb.test.txt"
      --embed-dim 256 --hidden-dim 256 --latent-dim 32 --epochs 15 --lr 1e-3
      --iw-samples 20 --no-progress --overwrite)
declare -A RUNS=(
  [none]="--kl-schedule constant --word-dropout 0 --free-bits 0"
  [annealing]="--kl-schedule linear --kl-warmup 500 --word-dropout 0 --free-bits 0"
  [word-dropout]="--kl-schedule linear --kl-warmup 500 --word-dropout 0.25 --free-bits 0"
  [free-bits]="--kl-schedule linear --kl-warmup 500 --word-dropout 0 --free-bits 0.5"
  [all-three]="--kl-schedule linear --kl-warmup 500 --word-dropout 0.5 --free-bits 0.5"
  [cyclical]="--kl-schedule cyclical --kl-cycles 4 --word-dropout 0 --free-bits 0"
  [aggressive]="--kl-schedule linear --kl-warmup 500 --word-dropout 0 --free-bits 0 --aggressive"
  [pretrain-fb]="--ae-pretrain-epochs 5 --kl-schedule linear --kl-warmup 500 --word-dropout 0 --free-bits 0.1"
)
names=("$@")
[ ${#names[@]} -eq 0 ] && names=(none annealing word-dropout free-bits all-three cyclical aggressive pretrain-fb)
for name in "${names[@]}"; do
  [ -n "${RUNS[$name]+x}" ] || { echo "no run named $name" >&2; exit 2; }
  mkdir -p runs/ptb
  # shellcheck disable=SC2086
  minivae train "${BASE[@]}" ${RUNS[$name]} --out "runs/ptb/$name" > "runs/ptb/$name.log" 2>&1 &
  while [ "$(jobs -rp | wc -l)" -ge 2 ]; do sleep 5; done
done
wait
python -m minivae.benchmarks.runs_table "${names[@]/#/runs/ptb/}"
