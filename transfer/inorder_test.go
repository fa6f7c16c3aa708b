package transfer

import (
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// TestInOrder: results added from many goroutines, in any order, are put
// one at a time in the given order, each done called once after its put.
func TestInOrder(t *testing.T) {
	for _, n := range []int{0, 1, 2, 100} {
		order := rand.Perm(n)
		var (
			got     []int
			putting atomic.Int32
			dones   = make([]atomic.Int32, n)
		)
		o := newInOrder(order, func(i int, v string) error {
			if putting.Add(1) != 1 {
				t.Error("two puts at once")
			}
			defer putting.Add(-1)
			if want := string(rune('a' + i%26)); v != want {
				t.Errorf("put(%d, %q), want %q", i, v, want)
			}
			if dones[i].Load() != 0 {
				t.Errorf("done %d called before its put", i)
			}
			got = append(got, i)
			return nil
		})
		var wg sync.WaitGroup
		for _, i := range rand.Perm(n) {
			wg.Go(func() {
				if err := o.add(i, string(rune('a'+i%26)), func() { dones[i].Add(1) }); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if !slices.Equal(got, order) {
			t.Errorf("n=%d: put %v, want %v", n, got, order)
		}
		if o.count() != n {
			t.Errorf("n=%d: count %d", n, o.count())
		}
		for i := range dones {
			if d := dones[i].Load(); d != 1 {
				t.Errorf("n=%d: done %d called %d times", n, i, d)
			}
		}
	}
}

// TestInOrderError: once put fails, nothing more is put and add returns
// the error; results waiting are not put.
func TestInOrderError(t *testing.T) {
	errPut := errors.New("disk full")
	var got []int
	o := newInOrder([]int{0, 1, 2, 3}, func(i int, _ struct{}) error {
		got = append(got, i)
		if i == 1 {
			return errPut
		}
		return nil
	})
	if err := o.add(2, struct{}{}, nil); err != nil {
		t.Fatalf("early result: %v", err)
	}
	if err := o.add(0, struct{}{}, nil); err != nil {
		t.Fatalf("first result: %v", err)
	}
	if err := o.add(1, struct{}{}, nil); !errors.Is(err, errPut) {
		t.Fatalf("failing result: %v, want %v", err, errPut)
	}
	if err := o.add(3, struct{}{}, nil); !errors.Is(err, errPut) {
		t.Fatalf("after the failure: %v, want %v", err, errPut)
	}
	if !slices.Equal(got, []int{0, 1}) || o.count() != 2 {
		t.Errorf("put %v (count %d), want [0 1]", got, o.count())
	}
}
