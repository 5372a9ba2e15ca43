package data

import (
	"container/list"
	"context"
	"fmt"
	"iter"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
)

// Position is where an epoch-based iteration stands: the next batch to
// produce is batch Batch of epoch Epoch. Saving the Position after each
// batch and passing it back resumes a run on exactly the same batches.
type Position struct {
	Epoch, Batch int
}

// Next returns the position after batch p, given the batches per epoch.
func (p Position) Next(perEpoch int) Position {
	if p.Batch+1 >= perEpoch {
		return Position{Epoch: p.Epoch + 1}
	}
	return Position{Epoch: p.Epoch, Batch: p.Batch + 1}
}

// epochOrder is the sample order of an epoch: a permutation drawn from a PCG
// seeded by (seed, epoch) when shuffling, else 0..n-1. It depends on nothing
// else, so any worker count and any resume point see the same order.
func epochOrder(n int, shuffle bool, seed uint64, epoch int) []int {
	if !shuffle {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	return rand.New(rand.NewPCG(seed, uint64(epoch))).Perm(n)
}

// sampleRNG is the random source handed to an augmentation for the sample
// at position pos of an epoch.
func sampleRNG(seed uint64, epoch, pos int) *rand.Rand {
	return rand.New(rand.NewPCG(seed^0x9e3779b97f4a7c15, splitmix(uint64(epoch)<<32^uint64(pos))))
}

// splitmix is SplitMix64's output function, to spread nearby stream
// numbers apart.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// batchCount is the number of batches of size bs over n samples.
func batchCount(n, bs int, dropLast bool) int {
	if dropLast {
		return n / bs
	}
	return (n + bs - 1) / bs
}

// pipeline decodes the samples of consecutive batches with a pool of
// workers, at most prefetch batches ahead of the consumer, and hands the
// batches over in order. Batch buffers are recycled.
type pipeline[B any] struct {
	workers, prefetch int
	newBuf            func() B
	// fill writes the sample at position pos of the epoch into slot.
	fill func(buf B, slot, pos int) error
	// finish completes batch k of n samples before it is handed over.
	finish func(buf B, k, n int)
}

func (p *pipeline[B]) run(ctx context.Context, first, last, bs, total int) iter.Seq2[B, error] {
	return func(yield func(B, error) bool) {
		var zero B
		if first >= last {
			return
		}
		inner, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		defer func() {
			cancel()
			wg.Wait()
		}()

		type job struct {
			buf     B
			k, n    int
			left    atomic.Int64
			done    chan struct{}
			errOnce sync.Once
			err     error
		}
		type task struct {
			j         *job
			slot, pos int
		}
		free := make(chan B, p.prefetch+1)
		for range min(p.prefetch+1, last-first) {
			free <- p.newBuf()
		}
		ready := make(chan *job, p.prefetch+1)
		tasks := make(chan task, bs)

		for range p.workers {
			wg.Go(func() {
				for {
					var t task
					select {
					case <-inner.Done():
						return
					case t = <-tasks:
					}
					if err := p.fill(t.j.buf, t.slot, t.pos); err != nil {
						t.j.errOnce.Do(func() { t.j.err = err })
					}
					if t.j.left.Add(-1) == 0 {
						close(t.j.done)
					}
				}
			})
		}
		wg.Go(func() {
			defer close(ready)
			for k := first; k < last; k++ {
				j := &job{k: k, n: min(bs, total-k*bs), done: make(chan struct{})}
				select {
				case <-inner.Done():
					return
				case j.buf = <-free:
				}
				j.left.Store(int64(j.n))
				ready <- j // never blocks: at most prefetch+1 buffers exist
				for s := range j.n {
					select {
					case <-inner.Done():
						return
					case tasks <- task{j, s, k*bs + s}:
					}
				}
			}
		})

		for j := range ready {
			// Checked first: select would pick a finished batch over a
			// cancelled context half of the time.
			if err := ctx.Err(); err != nil {
				yield(zero, err)
				return
			}
			select {
			case <-ctx.Done():
				yield(zero, ctx.Err())
				return
			case <-j.done:
			}
			if j.err != nil {
				yield(zero, j.err)
				return
			}
			p.finish(j.buf, j.k, j.n)
			if !yield(j.buf, nil) {
				return
			}
			free <- j.buf
		}
		if err := ctx.Err(); err != nil {
			yield(zero, err)
		}
	}
}

func workersOr(n int) int {
	if n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}

func prefetchOr(n int) int {
	if n > 0 {
		return n
	}
	return 2
}

// frameCache keeps recently decoded frames, least recently used evicted
// first, so that the T+1 overlapping clips that share a frame decode it
// once. Concurrent requests for a frame being decoded wait for it.
type frameCache struct {
	mu      sync.Mutex
	cap     int
	lru     *list.List // of *cacheEntry, most recent first
	entries map[int64]*list.Element
}

type cacheEntry struct {
	key  int64
	done chan struct{}
	pix  []float32
	err  error
}

func newFrameCache(capacity int) *frameCache {
	return &frameCache{cap: capacity, lru: list.New(), entries: make(map[int64]*list.Element)}
}

// get returns the frame for key, calling load at most once while it stays
// cached. The returned slice must not be modified.
func (c *frameCache) get(key int64, load func() ([]float32, error)) ([]float32, error) {
	if c.cap <= 0 {
		return load()
	}
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		c.lru.MoveToFront(el)
		e := el.Value.(*cacheEntry)
		c.mu.Unlock()
		<-e.done
		return e.pix, e.err
	}
	e := &cacheEntry{key: key, done: make(chan struct{})}
	c.entries[key] = c.lru.PushFront(e)
	for c.lru.Len() > c.cap {
		old := c.lru.Remove(c.lru.Back()).(*cacheEntry)
		delete(c.entries, old.key)
	}
	c.mu.Unlock()

	e.pix, e.err = load()
	close(e.done)
	if e.err != nil {
		// Do not keep failures: a later request retries and reports.
		c.mu.Lock()
		if el, ok := c.entries[key]; ok && el.Value.(*cacheEntry) == e {
			c.lru.Remove(el)
			delete(c.entries, key)
		}
		c.mu.Unlock()
	}
	return e.pix, e.err
}

func checkPosition(from Position, perEpoch int) error {
	if from.Epoch < 0 || from.Batch < 0 || from.Batch > perEpoch {
		return fmt.Errorf("position epoch %d batch %d is outside an epoch of %d batches", from.Epoch, from.Batch, perEpoch)
	}
	return nil
}
