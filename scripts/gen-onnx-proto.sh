#!/usr/bin/env bash
# Regenerates internal/onnxpb/onnx.pb.go from the onnx.proto that Debian's
# libonnx-dev ships. Needs: apt-get install protobuf-compiler protoc-gen-go libonnx-dev
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
proto=${ONNX_PROTO:-/usr/include/onnx/onnx.proto}
[ -f "$proto" ] || { echo "missing $proto: run 'apt-get install libonnx-dev'" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cp "$proto" "$tmp/onnx.proto"
protoc -I "$tmp" --go_out="$tmp" --go_opt=paths=source_relative \
  --go_opt=Monnx.proto=github.com/fmam/fmam/internal/onnxpb "$tmp/onnx.proto"
cp "$tmp/onnx.pb.go" "$root/internal/onnxpb/onnx.pb.go"
echo "wrote internal/onnxpb/onnx.pb.go from $proto"
