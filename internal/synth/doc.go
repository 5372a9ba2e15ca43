// Package synth makes training and test data that fmam does not have to
// download: DRAEM-style synthetic anomalies pasted onto normal images, and
// small deterministic datasets in the on-disk layouts of the real benchmarks.
//
// The anomaly synthesis follows the published recipe of DRAEM (Zavrtanik,
// Kristan, Skočaj, "DRAEM – A discriminatively trained reconstruction
// embedding for surface anomaly detection", ICCV 2021) as their reference
// code implements it: a thresholded, rotated 2-D Perlin noise map selects the
// anomalous region, and an augmented texture image is blended into it.
//
// The dataset generators write an MVTec AD-like image set (GenerateMVTec) and
// a UCSD Ped2-like frames set with MNAD-style frame labels (GenerateVideo).
// Their ground truth is exact by construction: a mask pixel is set exactly
// where the anomaly changed the rendered pixel, so loaders and metrics can be
// tested against known answers.
//
// Everything is reproducible: randomness comes only from the *rand.Rand or
// seed the caller passes in.
package synth
