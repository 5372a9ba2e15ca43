// Package metrics computes the evaluation numbers of fmam's tables: image- and
// frame-level ROC AUC, average precision and F1-max, pixel-level AUROC/AP and
// AUPRO over a whole test set, and per-video frame AUC for video anomaly
// detection.
//
// Definitions follow the reference implementations the papers report with, so
// that numbers can be compared with published tables:
//
//   - ROCAUC and AveragePrecision equal scikit-learn's roc_auc_score and
//     average_precision_score: samples with equal scores form one threshold,
//     the ROC curve is integrated with trapezoids, and AP is the step-wise
//     sum over thresholds of (R_n - R_{n-1}) * P_n without interpolation.
//   - AUPRO follows the MVTec AD evaluation code: ground-truth regions are the
//     8-connected components of each mask (scipy.ndimage.label with a 3x3
//     structure), PRO at a threshold is the mean overlap over all regions of the
//     test set, and the PRO-over-FPR curve is integrated with trapezoids up to
//     maxFPR (interpolated at exactly maxFPR) and divided by maxFPR.
//   - GaussianBlur and GaussianSmooth1D equal scipy.ndimage.gaussian_filter(1d)
//     with truncate=4 and mode="reflect".
//
// Pixel metrics are exact: they sort every pixel score rather than binning
// them, using compact keys so that MVTec AD scale (113 M pixels) fits in well
// under 2 GB.
package metrics
