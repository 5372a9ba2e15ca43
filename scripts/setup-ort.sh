#!/usr/bin/env bash
# Installs the ONNX Runtime shared library that fmam loads, taken from the npm
# package onnxruntime-node (no install scripts are run). The package tarball is
# fetched from the npm registry over HTTPS with curl (FMAM_NPM_REGISTRY, default
# https://registry.npmjs.org), so Go and curl are all a machine needs; npm pack
# is the fallback where curl is missing or fails (a proxy only npm is set up
# for). Either way the tarball's checksum is checked. Idempotent: a library
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
registry=${FMAM_NPM_REGISTRY:-https://registry.npmjs.org}
# fetch NAME VERSION DIR: puts the npm package's tarball NAME-VERSION.tgz into
# DIR (unscoped packages), by HTTPS, else with npm pack.
fetch() {
  local name=$1 version=$2 dir=$3
  local out="$dir/$name-$version.tgz"
  if command -v curl >/dev/null; then
    if curl -fsSL --proto '=https' --retry 3 -o "$out.part" "$registry/$name/-/$name-$version.tgz"; then
      mv "$out.part" "$out"
      return 0
    fi
    rm -f "$out.part"
    echo "setup-ort: could not download $name@$version from $registry; trying npm" >&2
  fi
  command -v npm >/dev/null || { echo "setup-ort: curl (or npm) is needed to fetch $name@$version: apt-get install curl" >&2; exit 1; }
  (cd "$dir" && npm pack --silent "$name@$version" >/dev/null)
}
dest="$cache/ort/$ORT_VERSION"
lib="$dest/libonnxruntime.so.1"
install_cuda() {
  # ONNX Runtime 1.29.0's CUDA provider (CUDA 13, cuDNN 9), as the npm
  # package com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 carries it. It
  # must sit beside libonnxruntime.so.1 of the same version.
  [ "$ORT_VERSION" = 1.29.0 ] || { echo "setup-ort: the pinned CUDA provider is for ORT 1.29.0" >&2; exit 1; }
  local pkg=com.github.asus4.onnxruntime.linux-x64-gpu ver=0.4.9
  local integrity=sha512-FopIhNE/Ng+v2X65wVc9clPCBCvhvA53Hxo2U0Kf5fGdVsC7iCA+mZ0KLWggcQAj7TIZ6pNidR4AC10g74Xo6w==
  [ -f "$dest/libonnxruntime_providers_cuda.so" ] && [ -f "$dest/libonnxruntime_providers_shared.so" ] && return 0
  local t; t=$(mktemp -d)
  echo "setup-ort: fetching $pkg@$ver (about 230 MB)" >&2
  fetch "$pkg" "$ver" "$t"
  local tgz="$t/$pkg-$ver.tgz"
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
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "setup-ort: fetching onnxruntime-node@$ORT_VERSION from the npm registry" >&2
fetch onnxruntime-node "$ORT_VERSION" "$tmp"
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
