// Package report turns experiment results into the artefacts a paper shows:
// tables (Markdown for people, CSV and JSON for programs) and PNG pictures
// (ROC curves, per-video score curves, anomaly-map panels, AUC against the
// fusion weight lambda).
//
// Table builders take the result structs of internal/results, with metrics
// as fractions in [0, 1], and print them as percentages with one decimal,
// the convention of the anomaly-detection literature (0.9712 is shown as 97.1). NaN marks a
// value that is absent; it prints as "-" in Markdown, an empty field in CSV
// and null in JSON. Averages are taken over the unrounded values, and an
// average over a group with an absent member is itself absent, so a mean is
// never silently computed over a different subset of rows than its
// neighbours.
//
// Every file is written atomically: into a temporary file in the target
// directory that is renamed over the destination once complete, so a reader
// never sees half a table or half a picture.
package report
