// Package onnxpb holds the ONNX protobuf types, generated from the onnx.proto
// that Debian's libonnx-dev ships (scripts/gen-onnx-proto.sh regenerates them).
// They are generated rather than hand-written so that every field a PyTorch
// export may carry survives a load/save round trip.
package onnxpb
