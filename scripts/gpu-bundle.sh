#!/usr/bin/env bash
# Packs what a GPU machine without network needs to run fmam on CUDA: the fmam
# binary built here, ONNX Runtime's core library and its CUDA provider, in one
# gzipped tar cut into parts small enough to carry one per call (the device
# machine takes at most 64 MiB per call), with a SHA256SUMS manifest of every
# part and of the whole archive. scripts/gpu-check.sh reassembles and checks
# them on the other side.
#
#   scripts/gpu-bundle.sh              # into gpu-bundle/ (ignored by git)
#   scripts/gpu-bundle.sh DIR
#
# Environment:
#   FMAM_BUNDLE_PART_MB   part size in MiB (default 55: under 60 with room for
#                         the working tree in the same call)
#   FMAM_BUNDLE_FMAM      an fmam binary to pack instead of building one
#   FMAM_BUNDLE_NO_CUDA=1 pack the core library only (tests; a bundle for the
#                         CPU fallback)
#   FMAM_BUNDLE_ORT_DIR   a folder with libonnxruntime.so.1 (and the CUDA
#                         provider's two libraries unless FMAM_BUNDLE_NO_CUDA)
#                         to pack instead of running setup-ort.sh
#   FMAM_BUNDLE_CACHE     where setup-ort.sh keeps the libraries for the bundle
#                         (default: a cache of its own, so the CUDA provider
#                         never lands in the cache this machine's runs use)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/gpu-bundle}
part_mb=${FMAM_BUNDLE_PART_MB:-55}
[ "$part_mb" -ge 1 ] && [ "$part_mb" -lt 60 ] || { echo "gpu-bundle: FMAM_BUNDLE_PART_MB must be 1..59" >&2; exit 2; }
cache=${FMAM_BUNDLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fmam-gpu-bundle}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/ort"

if [ -n "${FMAM_BUNDLE_FMAM:-}" ]; then
  cp "$FMAM_BUNDLE_FMAM" "$stage/bin/fmam"
else
  echo "gpu-bundle: building fmam" >&2
  (cd "$root" && go build -trimpath -o "$stage/bin/fmam" ./cmd/fmam)
fi

nocuda=${FMAM_BUNDLE_NO_CUDA:-0}
if [ -n "${FMAM_BUNDLE_ORT_DIR:-}" ]; then
  d=$FMAM_BUNDLE_ORT_DIR
elif [ "$nocuda" = 1 ]; then
  d=$(dirname "$(FMAM_CACHE=$cache "$root/scripts/setup-ort.sh")")
else
  d=$(dirname "$(FMAM_CACHE=$cache "$root/scripts/setup-ort.sh" --cuda)")
fi
cp "$d/libonnxruntime.so.1" "$stage/ort/"
if [ "$nocuda" != 1 ]; then
  cp "$d/libonnxruntime_providers_cuda.so" "$d/libonnxruntime_providers_shared.so" "$stage/ort/"
fi
# What went in, for the report on the other side.
(cd "$root" && echo "commit $(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (dirty)')") > "$stage/BUNDLE"
(cd "$stage" && sha256sum bin/fmam ort/*) >> "$stage/BUNDLE"

rm -rf "$out"
mkdir -p "$out"
echo "gpu-bundle: packing into $out (parts of $part_mb MiB)" >&2
tar -C "$stage" -cf - . | gzip -1 | split -b "${part_mb}M" -d -a 3 - "$out/fmam-gpu.tgz.part-"
# The manifest: one line per part, then the whole archive under its own name.
(
  cd "$out"
  sha256sum fmam-gpu.tgz.part-*
  echo "$(cat fmam-gpu.tgz.part-* | sha256sum | cut -d' ' -f1)  fmam-gpu.tgz"
) > "$out/SHA256SUMS.tmp"
mv "$out/SHA256SUMS.tmp" "$out/SHA256SUMS"
ls "$out"/fmam-gpu.tgz.part-* | sed "s|^$root/||"
