// Package objects is fmam's object pipeline for object-centric video
// anomaly detection (Jigsaw-VAD and its kin): per-frame boxes, read from
// the files users already have (CSV, Jigsaw-VAD's pickles, folders of .npy)
// or detected here (an ONNX detector through ONNX Runtime, or a foreground
// detector from temporal gradients); validation of boxes against a video
// dataset; the box filters of the official Jigsaw-VAD code; and object
// cubes, T frames around each kept box cropped by ROI sampling to a fixed
// size, extracted once into a resumable on-disk cache.
//
// Coordinates are frame pixels, as detectors report them: a box is
// (x1, y1, x2, y2) with x1 < x2 and y1 < y2 inside [0, W] x [0, H]; boxes
// this package makes from pixel masks span the pixels x1 <= x < x2. Frames
// are 0-based everywhere.
package objects
