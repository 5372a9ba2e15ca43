package compare

import (
	"context"

	"github.com/fmam/fmam/internal/records"
)

// RunRecords reads the evaluation of a run folder's configured student as
// Compare does: one records.Seed per seed (the run's seed for a
// single-seed run), each with the mean over categories when there are
// several. 'fmam sweep gather' builds its table over a grid from them.
func RunRecords(ctx context.Context, dir string) ([]records.Seed, error) {
	r, err := loadCompared(ctx, dir)
	if err != nil {
		return nil, err
	}
	return r.per, nil
}
