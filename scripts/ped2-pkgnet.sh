#!/usr/bin/env bash
# PKG-Net on UCSD Ped2's VEC (STC) boxes: one PKG-Net teacher, then students
# with SCA, CA and no attention sharing it (model.teacher_run), each
# evaluated on the test videos present, and the layer ablation of the
# paper's Table 2 on the same teacher's data.
#   scripts/ped2-pkgnet.sh [preset]     (default preset: cpu-small)
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-cpu-small}
fmam=${FMAM:-bin/fmam}
base=runs/ped2-pkgnet-$preset
out=results/ped2-pkgnet-$preset
"$fmam" train --config configs/ped2-pkgnet.yaml --preset "$preset" --run "$base/sca"
"$fmam" eval --run "$base/sca" >/dev/null
for attn in ca none; do
  FMAM_MODEL_ATTENTION_KIND=$attn FMAM_DATA_OBJECTS_CACHE="$base/sca/objects/cubes" FMAM_TRAIN_CONTROL=false \
    "$fmam" train --config configs/ped2-pkgnet.yaml --preset "$preset" --run "$base/$attn" --teacher-run "$base/sca"
  "$fmam" eval --run "$base/$attn" >/dev/null
done
"$fmam" sweep-lambda --run "$base/sca" >/dev/null
mkdir -p "$out"
for attn in sca ca none; do
  for ext in md csv json; do cp "$base/$attn/student/results.$ext" "$out/$attn.$ext"; done
  echo "== $attn"; sed -n '3,8p' "$base/$attn/student/results.md"
done
cp "$base/sca/student/lambda.md" "$out/lambda.md"
