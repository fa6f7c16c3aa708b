package station

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// longPoll is how long a request for a new state waits before it answers
// with the state it has: less than the proxies' and browsers' idle limits.
const longPoll = 20 * time.Second

// Board is a page's live state, for its script to follow by long polling:
// GET …?since=N answers {"version": V, "state": …} once V > N, or after
// 20 seconds with the state as it is. The state is encoded when it is
// set, so what a poll sends is a snapshot, whatever changes afterwards.
type Board struct {
	mu      sync.Mutex
	version int64
	state   json.RawMessage
	changed chan struct{} // closed, and replaced, at each Set
}

// NewBoard is a board holding null.
func NewBoard() *Board {
	return &Board{state: json.RawMessage("null"), changed: make(chan struct{})}
}

// Set makes v, encoded as JSON, the board's state, and wakes its polls.
func (b *Board) Set(v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.version++
	b.state = raw
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
	return nil
}

// ServeHTTP answers a poll.
func (b *Board) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	since, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
	timer := time.NewTimer(longPoll)
	defer timer.Stop()
	for {
		b.mu.Lock()
		version, state, changed := b.version, b.state, b.changed
		b.mu.Unlock()
		if version != since {
			WriteJSON(w, http.StatusOK, struct {
				Version int64           `json:"version"`
				State   json.RawMessage `json:"state"`
			}{version, state})
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			since = -1 // answer with what there is
		case <-r.Context().Done():
			return
		}
	}
}
