#!/usr/bin/env bash
# Installs the ONNX Runtime shared library that fmam loads, taken from the npm
# package onnxruntime-node (no install scripts are run). Idempotent: a library
# already in the cache with the right checksum is left alone.
#
#   scripts/setup-ort.sh            # installs into ${FMAM_CACHE:-~/.cache/fmam}/ort/<version>/
#   scripts/setup-ort.sh --cuda     # also the CUDA execution provider (CUDA 13 hosts)
#
# The version is pinned because the CUDA provider must match the core library
# byte for byte in version; see README "ONNX Runtime".
set -euo pipefail
cuda=0
for a in "$@"; do
  case "$a" in
    --cuda) cuda=1 ;;
    *) echo "usage: $0 [--cuda]" >&2; exit 2 ;;
  esac
done
ORT_VERSION=${ORT_VERSION:-1.29.0}
# sha256 of onnxruntime-node-<version>.tgz as the npm registry served it.
declare -A SUMS=(
  [1.29.0]=cfdfb45ec4044b1fdca43e5d2e180fb6817e649ff8ad1e0dfc90e18e51b67037
  [1.24.1]=57181cf6e6e711b155c5b942d591fd63ded0b5de5c4922d51fd994e7f6ac2772
)
want=${SUMS[$ORT_VERSION]:-}
[ -n "$want" ] || { echo "setup-ort: no pinned checksum for onnxruntime-node@$ORT_VERSION" >&2; exit 1; }
cache=${FMAM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fmam}
dest="$cache/ort/$ORT_VERSION"
lib="$dest/libonnxruntime.so.1"
install_cuda() {
  # ONNX Runtime 1.29.0's CUDA provider (CUDA 13, cuDNN 9), as the npm
  # package com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 carries it. It
  # must sit beside libonnxruntime.so.1 of the same version.
  [ "$ORT_VERSION" = 1.29.0 ] || { echo "setup-ort: the pinned CUDA provider is for ORT 1.29.0" >&2; exit 1; }
  local pkg=com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
  local integrity=sha512-FopIhNE/Ng+v2X65wVc9clPCBCvhvA53Hxo2U0Kf5fGdVsC7iCA+mZ0KLWggcQAj7TIZ6pNidR4AC10g74Xo6w==
  [ -f "$dest/libonnxruntime_providers_cuda.so" ] && [ -f "$dest/libonnxruntime_providers_shared.so" ] && return 0
  local t; t=$(mktemp -d)
  echo "setup-ort: fetching $pkg (about 230 MB)" >&2
  (cd "$t" && npm pack --silent "$pkg" >/dev/null)
  local tgz; tgz=$(ls "$t"/*.tgz)
  local got; got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  [ "$got" = "$integrity" ] || { echo "setup-ort: integrity mismatch for $tgz" >&2; rm -rf "$t"; exit 1; }
  tar -xzf "$tgz" -C "$t" package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so package/Plugins/Linux/x64/libonnxruntime_providers_shared.so
  for f in libonnxruntime_providers_cuda.so libonnxruntime_providers_shared.so; do
    cp "$t/package/Plugins/Linux/x64/$f" "$dest/$f.tmp" && mv "$dest/$f.tmp" "$dest/$f"
  done
  rm -rf "$t"
}
if [ -f "$lib" ] && [ -f "$dest/.tgz.sha256" ] && [ "$(cat "$dest/.tgz.sha256")" = "$want" ]; then
  [ "$cuda" = 1 ] && install_cuda
  echo "$lib"
  exit 0
fi
command -v npm >/dev/null || { echo "setup-ort: npm is needed (apt-get install npm)" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "setup-ort: fetching onnxruntime-node@$ORT_VERSION from the npm registry" >&2
(cd "$tmp" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null)
tgz="$tmp/onnxruntime-node-$ORT_VERSION.tgz"
got=$(sha256sum "$tgz" | cut -d' ' -f1)
if [ "$got" != "$want" ]; then
  echo "setup-ort: checksum mismatch for $tgz: got $got, want $want" >&2
  exit 1
fi
tar -xzf "$tgz" -C "$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1
mkdir -p "$dest"
# Copy then rename so an interrupted run never leaves a half-written library.
cp "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$lib.tmp"
mv "$lib.tmp" "$lib"
echo "$want" > "$dest/.tgz.sha256"
[ "$cuda" = 1 ] && install_cuda
echo "$lib"
