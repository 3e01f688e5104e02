#!/usr/bin/env bash
# The long convergence runs of docs/convergence.md (issue 14): the meta paper's network (11 phases,
# stair training from 3 phases, +2 per stage) on the embedded sample at 80x90, validated every epoch,
# meta-trained on radial 10/20/30/40 % and conventionally trained on radial 20 %.
# Usage: benchmarks/convergence/run.sh meta|conventional [OUT_DIR] [EPOCHS] [STAIR_LR_FACTOR]
# Re-running the same command resumes from the last checkpoint; a larger EPOCHS extends the run.
# STAIR_LR_FACTOR (default 1, the constant rate) multiplies the learning rate at every stair stage.
set -euo pipefail
cd "$(dirname "$0")/../.."
which="$1"
out="${2:-runs/convergence}"
epochs="${3:-200}"
lr_factor="${4:-1}"
common=(--downsample=2 --num_phases=11 --stair_initial_phases=3 --stair_phases_per_stage=2
        --stair_epochs_per_stage=8 --stair_patience=3 --validation_every=1 --checkpoint_every=1
        --image_every=1000 --verbose=2 --epochs="$epochs" --stair_lr_factor="$lr_factor")
case "$which" in
  meta) exec .venv/bin/python experiments/train_meta.py "${common[@]}" --output_dir="$out/meta" ;;
  conventional) exec .venv/bin/python experiments/train_conventional.py "${common[@]}" \
      --tasks=radial:20 --batch_size=8 --output_dir="$out/conventional_radial20" ;;
  *) echo "usage: $0 meta|conventional [OUT_DIR] [EPOCHS]" >&2; exit 2 ;;
esac
