#!/usr/bin/env bash
# Installs the ONNX Runtime shared library that fmam loads, taken from the npm
# package onnxruntime-node (no install scripts are run). Idempotent: a library
# already in the cache with the right checksum is left alone.
#
#   scripts/setup-ort.sh            # installs into ${FMAM_CACHE:-~/.cache/fmam}/ort/<version>/
#
# The version is pinned because the CUDA provider must match the core library
# byte for byte in version; see README "ONNX Runtime".
set -euo pipefail
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
if [ -f "$lib" ] && [ -f "$dest/.tgz.sha256" ] && [ "$(cat "$dest/.tgz.sha256")" = "$want" ]; then
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
echo "$lib"
