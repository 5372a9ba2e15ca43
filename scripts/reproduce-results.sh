#!/usr/bin/env bash
# Re-runs every experiment whose numbers the README quotes, on the CPU, and
# copies their tables and pictures into results/ (runs stay in runs/), each
# part's tables as soon as that part is done. On 2 cores: about 15 minutes
# for the single-seed MNAD/DRAEM parts, 25 for PKG-Net, 45 for its three
# seeds, 25 for its layer ablation, 30 for the three-seed Ped2 table, 25 for
# the Jigsaw-VAD runs and 25 for their seeds, depending on the load.
#   scripts/reproduce-results.sh [part ...]   (default: all, in this order)
#   parts: demo compare ablate images pkgnet pkgnet-seeds pkgnet-ablate seeds jigsaw jigsaw-seeds
set -euo pipefail
cd "$(dirname "$0")/.."
export FMAM=${FMAM:-bin/fmam}
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(demo compare ablate images pkgnet pkgnet-seeds pkgnet-ablate seeds jigsaw jigsaw-seeds)
taps=encoder,bottleneck,decoder,encoder+bottleneck,bottleneck+decoder,encoder+bottleneck+decoder
out=results/ped2-cpu-small
# Figures also as vector files for papers (report.formats); copyfig copies
# the .svg and .pdf written beside a .png along with it.
export FMAM_REPORT_FORMATS=${FMAM_REPORT_FORMATS:-png,svg,pdf}
copyfig() { # copyfig SRC.png DEST(.png or folder/)
  local src=$1 dest=$2 ext
  cp "$src" "$dest"
  for ext in svg pdf; do
    [ -f "${src%.png}.$ext" ] || continue
    if [ -d "$dest" ]; then cp "${src%.png}.$ext" "$dest"; else cp "${src%.png}.$ext" "${dest%.png}.$ext"; fi
  done
}
export -f copyfig

for part in "${parts[@]}"; do
  echo "== $part"
  start=$SECONDS
  case $part in
  demo)
    rm -rf runs/demo
    "$FMAM" run --run runs/demo ;;
  compare)
    rm -rf runs/ped2-compare-cpu-small
    scripts/ped2-compare.sh cpu-small
    "$FMAM" sweep-lambda --run runs/ped2-compare-cpu-small/sca
    mkdir -p "$out"
    for attn in sca ca sa none; do
      for ext in md csv json; do cp "runs/ped2-compare-cpu-small/$attn/student/results.$ext" "$out/$attn.$ext"; done
    done
    cp runs/ped2-compare-cpu-small/sca/student/lambda.md "$out/"
    copyfig runs/ped2-compare-cpu-small/sca/student/lambda.png "$out/"
    copyfig runs/ped2-compare-cpu-small/sca/student/roc.png "$out/sca-roc.png" ;;
  ablate)
    rm -rf runs/ped2-ablate
    "$FMAM" ablate-layer --config configs/ped2.yaml --preset cpu-small --run runs/ped2-ablate --taps "$taps"
    mkdir -p "$out"
    for ext in md csv json; do cp "runs/ped2-ablate/ablation.$ext" "$out/ablation.$ext"; done ;;
  images)
    rm -rf runs/synth-mvtec runs/ped2-images
    "$FMAM" run --config configs/synth-mvtec.yaml --run runs/synth-mvtec
    scripts/ped2-images.sh
    "$FMAM" run --config configs/ped2-images.yaml --run runs/ped2-images
    mkdir -p results/synth-mvtec-cpu results/ped2-images-cpu
    for ext in md csv json; do
      cp "runs/synth-mvtec/results.$ext" "results/synth-mvtec-cpu/results.$ext"
      cp "runs/ped2-images/results.$ext" "results/ped2-images-cpu/results.$ext"
    done
    copyfig runs/ped2-images/ped2/student/maps.png results/ped2-images-cpu/maps.png ;;
  pkgnet)
    rm -rf runs/ped2-pkgnet-cpu-small
    scripts/ped2-pkgnet.sh cpu-small ;;   # copies its tables to results/ped2-pkgnet-cpu-small/
  pkgnet-seeds)
    # PKG-Net over three seeds, the runs (and the ablation) sharing one cube cache; tables to results/ped2-pkgnet-seeds-cpu-small/.
    rm -rf runs/ped2-pkgnet-seeds
    env CONFIG=configs/ped2-pkgnet.yaml NAME=ped2-pkgnet-seeds BASE=runs/ped2-pkgnet-seeds \
      FMAM_DATA_OBJECTS_CACHE=runs/ped2-pkgnet-cubes scripts/ped2-seeds.sh cpu-small 0,1,2 ;;
  pkgnet-ablate)
    # The paper's Table 2 (taps and their combinations) on PKG-Net, Ped2, seed 0.
    # After pkgnet-seeds it borrows seed 0's teacher and leaves out the
    # control, which is seed 0's control there (same seed, steps and data);
    # its bottleneck row is then seed 0's SCA student there.
    rm -rf runs/ped2-pkgnet-ablate
    borrow=()
    t0=runs/ped2-pkgnet-seeds/sca/seed-0/teacher/teacher.onnx
    [ -f "$t0" ] && borrow=(FMAM_MODEL_TEACHER="$t0" FMAM_TRAIN_CONTROL=false)
    env "${borrow[@]}" FMAM_DATA_OBJECTS_CACHE=runs/ped2-pkgnet-cubes \
      "$FMAM" ablate-layer --config configs/ped2-pkgnet.yaml --preset cpu-small --seed 0 --run runs/ped2-pkgnet-ablate --taps "$taps"
    mkdir -p results/ped2-pkgnet-ablate-cpu-small
    for ext in md csv json; do cp "runs/ped2-pkgnet-ablate/ablation.$ext" "results/ped2-pkgnet-ablate-cpu-small/ablation.$ext"; done ;;
  seeds)
    rm -rf runs/ped2-seeds-cpu-small
    scripts/ped2-seeds.sh cpu-small 0,1,2 ;;   # copies its tables to results/ped2-seeds-cpu-small/
  jigsaw)
    rm -rf runs/ped2-jigsaw-cpu-small
    scripts/ped2-jigsaw.sh cpu-small ;;   # copies its tables to results/ped2-jigsaw-cpu-small/
  jigsaw-seeds)
    # The same over three seeds, the runs sharing one cube cache; tables to results/ped2-jigsaw-seeds-cpu-small/.
    rm -rf runs/ped2-jigsaw-seeds
    env CONFIG=configs/ped2-jigsaw.yaml NAME=ped2-jigsaw-seeds BASE=runs/ped2-jigsaw-seeds \
      FMAM_DATA_OBJECTS_CACHE=runs/ped2-jigsaw-seeds/cubes-yolov3 scripts/ped2-seeds.sh cpu-small 0,1,2 ;;
  *)
    echo "reproduce-results: unknown part $part (use: demo compare ablate images pkgnet pkgnet-seeds pkgnet-ablate seeds jigsaw jigsaw-seeds)" >&2
    exit 2 ;;
  esac
  echo "== $part done in $((SECONDS - start)) s"
done
echo "results/ updated"
