// Package data reads the datasets fmam trains and evaluates on and turns them
// into batches of float32 tensors.
//
// It knows the on-disk layouts of MVTec AD, UCSD Ped1/Ped2 (the official
// release and the "frames" layout used by MNAD and others), CUHK Avenue,
// ShanghaiTech and a generic folder layout for users' own data (one category,
// or several as <root>/<category>/...). Every loader checks the whole layout
// before returning and reports all problems at once, each naming the path and
// what was expected, so a user can fix a dataset in one pass instead of one
// error per run. Symbolic links to folders and files are followed everywhere;
// a link to a folder that contains it is refused.
//
// Label files are read in the formats they are published in: NumPy .npy
// (MNAD's concatenated frame labels, ShanghaiTech's per-video masks), MATLAB
// v5 .mat read with package matfile (ped2.mat, CUHK Avenue's
// testing_label_mask) and UCSD's UCSDpedN.m text files.
//
// Frames and images are decoded with package imageio. VideoBatcher and
// ImageBatcher decode in parallel but deliver batches in an order fixed by
// the seed alone, and can resume from a Position so an interrupted training
// run sees the same batches.
package data
