#!/usr/bin/env bash
# Re-runs every experiment whose numbers the README quotes, on the CPU, and
# copies their tables and pictures into results/ (runs stay in runs/).
# About 12 minutes on 2 cores, plus 10 to 30 for the three-seed Ped2 table
# (scripts/ped2-seeds.sh), about 25 for the Jigsaw-VAD runs and 25 for their
# three seeds, depending on the load.
#   scripts/reproduce-results.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export FMAM=${FMAM:-bin/fmam}
taps=encoder,bottleneck,decoder,encoder+bottleneck,bottleneck+decoder,encoder+bottleneck+decoder
rm -rf runs/demo runs/ped2-seeds-cpu-small runs/ped2-compare-cpu-small runs/ped2-ablate runs/synth-mvtec runs/ped2-images runs/ped2-jigsaw-cpu-small runs/ped2-jigsaw-seeds

time "$FMAM" run --run runs/demo
time scripts/ped2-compare.sh cpu-small
"$FMAM" sweep-lambda --run runs/ped2-compare-cpu-small/sca
time "$FMAM" ablate-layer --config configs/ped2.yaml --preset cpu-small --run runs/ped2-ablate --taps "$taps"
time scripts/ped2-seeds.sh cpu-small 0,1,2   # copies its tables to results/ped2-seeds-cpu-small/
time "$FMAM" run --config configs/synth-mvtec.yaml --run runs/synth-mvtec
scripts/ped2-images.sh
time "$FMAM" run --config configs/ped2-images.yaml --run runs/ped2-images
time scripts/ped2-jigsaw.sh cpu-small   # copies its own tables to results/ped2-jigsaw-cpu-small/
# The same over three seeds, the runs sharing one cube cache; tables to results/ped2-jigsaw-seeds-cpu-small/.
time env CONFIG=configs/ped2-jigsaw.yaml NAME=ped2-jigsaw-seeds BASE=runs/ped2-jigsaw-seeds \
  FMAM_DATA_OBJECTS_CACHE=runs/ped2-jigsaw-seeds/cubes-yolov3 scripts/ped2-seeds.sh cpu-small 0,1,2

out=results/ped2-cpu-small
mkdir -p "$out" results/synth-mvtec-cpu results/ped2-images-cpu
for attn in sca ca sa none; do
  for ext in md csv json; do cp "runs/ped2-compare-cpu-small/$attn/student/results.$ext" "$out/$attn.$ext"; done
done
cp runs/ped2-compare-cpu-small/sca/student/lambda.md "$out/lambda.md"
cp runs/ped2-compare-cpu-small/sca/student/lambda.png "$out/lambda.png"
cp runs/ped2-compare-cpu-small/sca/student/roc.png "$out/sca-roc.png"
for ext in md csv json; do
  cp "runs/ped2-ablate/ablation.$ext" "$out/ablation.$ext"
  cp "runs/synth-mvtec/results.$ext" "results/synth-mvtec-cpu/results.$ext"
  cp "runs/ped2-images/results.$ext" "results/ped2-images-cpu/results.$ext"
done
cp runs/ped2-images/ped2/student/maps.png results/ped2-images-cpu/maps.png
echo "results/ updated"
