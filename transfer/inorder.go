package transfer

import (
	"sync"
)

// inOrder hands chunks to put in the order of need, one at a time, while
// the streams that fetch, decrypt and verify them run in parallel. Files
// are then written front to back, which lets the store hash each file as
// it is written instead of reading it again.
//
// A chunk that arrives early waits in memory. Its stream's window slot is
// given back only once the chunk is written, so what waits is bounded by
// the streams' windows whatever the study's size; and as a stream asks for
// a chunk only after taking a slot, the chunk that is next in order has
// always been asked for, and nothing waits on it forever.
type inOrder struct {
	put   func(int, []byte) error
	order []int

	mu       sync.Mutex
	pos      int
	early    map[int]earlyChunk
	applying bool
	err      error
}

type earlyChunk struct {
	plain []byte
	done  func() // gives the stream's slot back
}

func newInOrder(need []int, put func(int, []byte) error) *inOrder {
	return &inOrder{put: put, order: need, early: map[int]earlyChunk{}}
}

// add gives chunk i. done is called once it is written.
func (o *inOrder) add(i int, plain []byte, done func()) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return o.err
	}
	o.early[i] = earlyChunk{plain, done}
	if o.applying {
		return nil // the goroutine applying will take it
	}
	o.applying = true
	for o.err == nil && o.pos < len(o.order) {
		c, ok := o.early[o.order[o.pos]]
		if !ok {
			break
		}
		delete(o.early, o.order[o.pos])
		i := o.order[o.pos]
		o.pos++
		o.mu.Unlock()
		err := o.put(i, c.plain)
		c.done()
		o.mu.Lock()
		if err != nil && o.err == nil {
			o.err = err
		}
	}
	o.applying = false
	return o.err
}
