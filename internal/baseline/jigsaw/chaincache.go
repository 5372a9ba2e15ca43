package jigsaw

import (
	"os"
	"slices"
	"sync"
	"time"
)

// chainCache keeps the frame scores and AUCs of the official chain by the
// object-scores file they were made from and the fusion weight, for the
// life of the process. An evaluation makes the same chain several times
// (Score writes the teacher's and the student's λ=0 and λ=1 frame scores,
// Results tables them again, a λ sweep repeats its rows), and on Ped2 a
// chain is two 15-million-cell volumes per video. The file's size and
// modification time are part of the key, so a re-scored stage is chained
// again. Its zero value is ready to use.
type chainCache struct {
	mu sync.Mutex
	m  map[chainKey]chainResult
}

type chainKey struct {
	path   string
	size   int64
	mod    time.Time
	lambda float64
	p      Protocol
}

type chainResult struct {
	fs  []FrameScores
	auc AUC
}

// chain is t.chain of rows, which are the contents of the object-scores
// file at path (the rows Score wrote there, or read back from it: the file
// keeps every float exactly), cached under that file. Each caller gets
// its own copy of the frame scores.
func (c *chainCache) chain(t *testSet, path string, rows []objectRow, lambda float64, p Protocol) ([]FrameScores, AUC, error) {
	st, err := os.Stat(path)
	if err != nil {
		return t.chain(rows, lambda, p)
	}
	k := chainKey{path: path, size: st.Size(), mod: st.ModTime(), lambda: lambda, p: p}
	c.mu.Lock()
	r, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return cloneScores(r.fs), r.auc, nil
	}
	fs, auc, err := t.chain(rows, lambda, p)
	if err != nil {
		return nil, AUC{}, err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[chainKey]chainResult{}
	}
	for old := range c.m { // chains of an earlier version of the file are no use
		if old.path == k.path && (old.size != k.size || !old.mod.Equal(k.mod)) {
			delete(c.m, old)
		}
	}
	c.m[k] = chainResult{cloneScores(fs), auc}
	c.mu.Unlock()
	return fs, auc, nil
}

func cloneScores(fs []FrameScores) []FrameScores {
	out := make([]FrameScores, len(fs))
	for i, f := range fs {
		out[i] = FrameScores{Video: f.Video, Spatial: slices.Clone(f.Spatial), Temporal: slices.Clone(f.Temporal),
			Combined: slices.Clone(f.Combined), Anomaly: slices.Clone(f.Anomaly)}
	}
	return out
}
