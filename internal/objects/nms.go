package objects

import (
	"cmp"
	"slices"
)

// NMS is greedy non-maximum suppression: boxes are visited by score,
// highest first (equal scores in input order), and a box is dropped when
// its IoU with a box already kept is greater than iou (torchvision's and
// ultralytics' rule). With perClass only boxes of the same class suppress
// each other. maxDet > 0 keeps at most that many. The result is sorted by
// score; the input is not modified.
func NMS(boxes []Box, iou float64, perClass bool, maxDet int) []Box {
	order := make([]int, len(boxes))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(boxes[b].Score, boxes[a].Score) })
	var kept []Box
	for _, i := range order {
		b := boxes[i]
		drop := false
		for _, k := range kept {
			if perClass && k.Class != b.Class {
				continue
			}
			if IoU(b, k) > iou {
				drop = true
				break
			}
		}
		if drop {
			continue
		}
		kept = append(kept, b)
		if maxDet > 0 && len(kept) == maxDet {
			break
		}
	}
	return kept
}
