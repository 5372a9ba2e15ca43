#!/usr/bin/env bash
# The README's multi-seed Ped2 table. For each seed: an MNAD teacher and a
# student with SCA (run "sca"), then students with CA and with no attention
# that share that seed's teacher (model.teacher with the {seed}
# placeholder), all evaluated; then one table over the three runs with
# mean ± std over seeds and each student's paired difference with its
# teacher, copied with each run's own table into results/.
#   scripts/ped2-seeds.sh [preset] [seeds]     (default: cpu-small 0,1,2)
# CONFIG=configs/ped2-jigsaw.yaml NAME=ped2-jigsaw-seeds does the same for
# Jigsaw-VAD (BASE overrides the run folder, runs/<NAME>-<preset>).
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-cpu-small}
seeds=${2:-0,1,2}
fmam=${FMAM:-bin/fmam}
config=${CONFIG:-configs/ped2.yaml}
name=${NAME:-ped2-seeds}
base=${BASE:-runs/$name-$preset}
out=results/$name-$preset
"$fmam" train --config "$config" --preset "$preset" --seeds "$seeds" --run "$base/sca"
"$fmam" eval --run "$base/sca" >/dev/null
for attn in ca none; do
  # The sca run trains each seed's control, which these students share.
  FMAM_MODEL_TEACHER="$base/sca/seed-{seed}/teacher/teacher.onnx" FMAM_MODEL_ATTENTION_KIND=$attn FMAM_TRAIN_CONTROL=false \
    "$fmam" train --config "$config" --preset "$preset" --seeds "$seeds" --run "$base/$attn"
  "$fmam" eval --run "$base/$attn" >/dev/null
done
mkdir -p "$out"
for attn in sca ca none; do
  for ext in md csv json; do cp "$base/$attn/results.$ext" "$out/$attn.$ext"; done
done
# The HTML page links the runs' pictures, so it stays beside them.
"$fmam" compare "$base/sca" "$base/ca" "$base/none" --out "$base" --name compare
for ext in md csv json; do cp "$base/compare.$ext" "$out/compare.$ext"; done
