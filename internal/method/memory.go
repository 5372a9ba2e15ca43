package method

import "math"

// MemoryEstimate is a shape-level estimate of the memory the largest of a
// run's graphs needs: the built-in network is built (its parameters are
// small whatever the input size) and its tensors summed by shape, nothing
// of the input's size is allocated.
type MemoryEstimate struct {
	// Stage is the graph that needs the most: "student train step" (the
	// frozen teacher's forward pass beside the student's train step) or
	// "evaluation" (teacher and student at eval.batch).
	Stage string
	Bytes int64
	// Fixed is the part of Bytes that does not grow with data.size.
	Fixed int64
	// Params is the bytes of one network's weights; Activations the bytes
	// of its forward pass at train.batch.
	Params, Activations int64
}

// EstimateMemory estimates a run's largest graph from the built-in
// network's forward pass at s.Batch (TeacherTrain's graph, which the
// student's train step contains). The student's train step holds the
// weights, their gradients and Adam's two moments (4 x the weights) with
// the frozen teacher's (1 x), and the forward passes' outputs kept for
// the backward pass with their gradients (3 x the activations: 2.5 x for
// the student's train step, which is 0.65 to 1.2 x fmam bench's peak RSS
// for MNAD, DRAEM and Jigsaw-VAD, and half a pass for what the teacher
// keeps at its taps). Evaluation runs teacher and student at evalBatch, freeing what
// each layer no longer needs: their weights and one forward pass's
// outputs. ok is false when the network does not build, which the stage
// itself reports. Nothing is allocated at the input's size.
func EstimateMemory(s Spec, evalBatch int) (MemoryEstimate, bool) {
	s.Mimic = Mimic{}
	built, err := TeacherTrain(s)
	if err != nil {
		return MemoryEstimate{}, false
	}
	f := built.Spec.Graph.Footprint()
	p, a := float64(f.Params), float64(f.Activations)
	student := 5*p + 3*a
	eval := 2*p + a*float64(evalBatch)/float64(s.Batch)
	est := MemoryEstimate{Stage: "student train step", Bytes: sat(student), Fixed: sat(5 * p), Params: f.Params, Activations: f.Activations}
	if eval > student {
		est.Stage, est.Bytes, est.Fixed = "evaluation", sat(eval), sat(2*p)
	}
	return est, true
}

func sat(x float64) int64 {
	if x >= math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(x)
}
