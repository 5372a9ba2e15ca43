#!/usr/bin/env bash
# The README's Jigsaw-VAD comparison on real Ped2: one Jigsaw teacher on the
# shared YOLOv3 boxes, students with SCA, CA and no attention sharing it; then
# a teacher and an SCA student on boxes from the foreground detector. Each is
# evaluated on the test videos present; tables go to results/ped2-jigsaw-<preset>/.
#   scripts/ped2-jigsaw.sh [preset]     (default preset: cpu-small)
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-cpu-small}
fmam=${FMAM:-bin/fmam}
cfg=configs/ped2-jigsaw.yaml
base=runs/ped2-jigsaw-$preset
out=results/ped2-jigsaw-$preset
start=$SECONDS
# Runs on the same boxes share one cube cache.
export FMAM_DATA_OBJECTS_CACHE=$base/cubes-yolov3
"$fmam" train --config $cfg --preset "$preset" --run "$base/sca"
"$fmam" eval --run "$base/sca" >/dev/null
"$fmam" sweep-lambda --run "$base/sca" >/dev/null
teacher=$base/sca/teacher/teacher.onnx
for attn in ca none; do
  FMAM_MODEL_TEACHER=$teacher FMAM_MODEL_ATTENTION_KIND=$attn FMAM_TRAIN_CONTROL=false \
    "$fmam" train --config $cfg --preset "$preset" --run "$base/$attn"
  FMAM_MODEL_TEACHER=$teacher FMAM_MODEL_ATTENTION_KIND=$attn FMAM_TRAIN_CONTROL=false \
    "$fmam" eval --config $cfg --preset "$preset" --run "$base/$attn" >/dev/null
done
yolo=$((SECONDS - start))
# The foreground detector's boxes instead of the box files.
# (An empty path variable clears the config's box files.)
export FMAM_DATA_OBJECTS_CACHE=$base/cubes-foreground FMAM_DATA_OBJECTS_DETECTOR=foreground \
  FMAM_DATA_OBJECTS_TRAIN_BOXES= FMAM_DATA_OBJECTS_TEST_BOXES=
"$fmam" train --config $cfg --preset "$preset" --run "$base/foreground-sca"
"$fmam" eval --run "$base/foreground-sca" >/dev/null
mkdir -p "$out"
for run in sca ca none foreground-sca; do
  for ext in md csv json; do cp "$base/$run/student/results.$ext" "$out/$run.$ext"; done
done
# copyfig (scripts/reproduce-results.sh) also copies the .svg/.pdf beside a .png.
if declare -F copyfig >/dev/null; then fig=copyfig; else fig=cp; fi
"$fig" "$base/sca/student/roc.png" "$out/sca-roc.png"
cp "$base/sca/student/lambda.md" "$out/"
"$fig" "$base/sca/student/lambda.png" "$out/"
for run in sca ca none foreground-sca; do
  echo "== $run"; grep '^|' "$out/$run.md" | sed -n '3,$p'
done
echo "wall time: YOLOv3 boxes (teacher + 3 students) $((yolo / 60)) min $((yolo % 60)) s, foreground run $(((SECONDS - start - yolo) / 60)) min $(((SECONDS - start - yolo) % 60)) s"
