#!/usr/bin/env bash
# Builds an MVTec-layout image category from real UCSD Ped2 frames, for
# trying the DRAEM pipeline on real images with real pixel masks:
#   <out>/ped2/train/good/          every 5th frame of the 16 training videos
#   <out>/ped2/test/good/           every 3rd normal frame of the test videos present
#   <out>/ped2/test/anomaly/        every 3rd anomalous frame
#   <out>/ped2/ground_truth/anomaly/<name>_mask.png   its pixel mask (0/255)
# Frame labels come from UCSDped2.m; masks are 1-based (frame k <-> mask k+1).
#   scripts/ped2-images.sh [ped2-root] [out]   (defaults: ../shared/data/ped2 data/ped2-images)
set -euo pipefail
src=${1:-../shared/data/ped2}
out=${2:-data/ped2-images}
cat=$out/ped2
[ -f "$src/UCSDped2.m" ] || { echo "ped2-images: $src/UCSDped2.m not found" >&2; exit 1; }
rm -rf "$cat.tmp"
mkdir -p "$cat.tmp/train/good" "$cat.tmp/test/good" "$cat.tmp/test/anomaly" "$cat.tmp/ground_truth/anomaly"
for v in "$src"/training/frames/*/; do
  vn=$(basename "$v")
  i=0
  for f in "$v"*.jpg; do
    [ $((i % 5)) -eq 0 ] && cp "$f" "$cat.tmp/train/good/v${vn}_$(basename "$f")"
    i=$((i + 1))
  done
done
mapfile -t ranges < <(grep -o 'gt_frame = \[[0-9]*:[0-9]*\]' "$src/UCSDped2.m" | sed 's/.*\[\([0-9]*\):\([0-9]*\)\]/\1 \2/')
for v in "$src"/testing/frames/*/; do
  vn=$(basename "$v")
  idx=$((10#$vn - 1))
  read -r lo hi <<<"${ranges[$idx]}"
  gt="$src/testing/pixel_masks/Test$(printf %03d $((10#$vn)))_gt"
  i=0
  for f in "$v"*.jpg; do
    if [ $((i % 3)) -eq 0 ]; then
      k=$((i + 1))
      name="v${vn}_$(basename "$f" .jpg)"
      if [ "$k" -ge "$lo" ] && [ "$k" -le "$hi" ]; then
        mask="$gt/$(printf %03d $k).png"
        [ -f "$mask" ] || mask="$gt/frame$(printf %03d $k).png"
        cp "$f" "$cat.tmp/test/anomaly/$name.jpg"
        cp "$mask" "$cat.tmp/ground_truth/anomaly/${name}_mask.png"
      else
        cp "$f" "$cat.tmp/test/good/$name.jpg"
      fi
    fi
    i=$((i + 1))
  done
done
rm -rf "$cat"
mv "$cat.tmp" "$cat"
echo "ped2-images: $(ls "$cat/train/good" | wc -l) train, $(ls "$cat/test/good" | wc -l) normal and $(ls "$cat/test/anomaly" | wc -l) anomalous test images in $cat"
