package transfer

import (
	"sync"
)

// inOrder hands results to put one at a time, in a fixed order, while the
// workers that make them run in parallel and finish in any order. The
// receiver uses it to write fetched chunks in the order of need, so that
// files are written front to back and the store can hash each as it is
// written instead of reading it again; Pack uses it to append sealed
// chunks to the offer's data file in chunk order.
//
// A result that arrives early waits in memory. Its done is called only
// once it is put, so callers bound what waits by holding a slot (a
// stream's window, a read token) until then. Slots must be taken in the
// order results are wanted (a stream asks for a chunk only after taking a
// slot; Pack reads a chunk only after taking a token): then the result
// next in order is always under way, and nothing waits on it forever.
//
// After put fails, results are no longer put, nor their done called, and
// add returns the first error.
type inOrder[T any] struct {
	put   func(int, T) error
	order []int

	mu       sync.Mutex
	pos      int
	early    map[int]earlyResult[T]
	applying bool
	err      error
}

type earlyResult[T any] struct {
	v    T
	done func()
}

// newInOrder puts results in the order of the indexes in order.
func newInOrder[T any](order []int, put func(int, T) error) *inOrder[T] {
	return &inOrder[T]{put: put, order: order, early: map[int]earlyResult[T]{}}
}

// add gives result i, which is put now if it is next in order, or later by
// the add that gives the one it waits for. done, if not nil, is called
// once it is put. add is safe to call from several goroutines.
func (o *inOrder[T]) add(i int, v T, done func()) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return o.err
	}
	o.early[i] = earlyResult[T]{v, done}
	if o.applying {
		return nil // the goroutine applying will take it
	}
	o.applying = true
	for o.err == nil && o.pos < len(o.order) {
		i := o.order[o.pos]
		r, ok := o.early[i]
		if !ok {
			break
		}
		delete(o.early, i)
		o.pos++
		o.mu.Unlock()
		err := o.put(i, r.v)
		if r.done != nil {
			r.done()
		}
		o.mu.Lock()
		if err != nil && o.err == nil {
			o.err = err
		}
	}
	o.applying = false
	return o.err
}

// count returns how many results have been put.
func (o *inOrder[T]) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.pos
}
