#!/usr/bin/env bash
# The README's Ped2 comparison: one MNAD teacher, then students with SCA, CA
# and SA attention sharing it, each evaluated on the test videos present.
#   scripts/ped2-compare.sh [preset]     (default preset: cpu-small)
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-cpu-small}
fmam=${FMAM:-bin/fmam}
base=runs/ped2-compare-$preset
"$fmam" train --config configs/ped2.yaml --preset "$preset" --run "$base/sca"
"$fmam" eval --run "$base/sca" >/dev/null
teacher=$base/sca/teacher/teacher.onnx
# The students sharing the teacher share its control too (same seed, same
# teacher): it is trained once, in the sca run.
for attn in ca sa none; do
  FMAM_MODEL_TEACHER=$teacher FMAM_MODEL_ATTENTION_KIND=$attn FMAM_TRAIN_CONTROL=false \
    "$fmam" train --config configs/ped2.yaml --preset "$preset" --run "$base/$attn"
  FMAM_MODEL_TEACHER=$teacher FMAM_MODEL_ATTENTION_KIND=$attn FMAM_TRAIN_CONTROL=false \
    "$fmam" eval --config configs/ped2.yaml --preset "$preset" --run "$base/$attn" >/dev/null
done
for attn in sca ca sa none; do
  echo "== $attn"; sed -n '3,5p' "$base/$attn/student/results.md"
done
