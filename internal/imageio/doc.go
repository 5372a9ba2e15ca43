// Package imageio decodes image files (PNG, JPEG, TIFF, BMP) to CHW float32
// in the format a network expects (Input: channels, value range,
// per-channel mean and std), resized with golang.org/x/image/draw or, with
// PILBilinear, exactly as PIL does, and reads binary pixel masks.
//
// A Decoder keeps its resize tables per source size, so decoding the frames
// of a video rebuilds nothing; it is safe for concurrent use.
package imageio
