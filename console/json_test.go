package console

import (
	"bytes"
	"testing"
)

type testEvent struct {
	Path string `json:"path"`
	N    int    `json:"n,omitempty"`
}

func (testEvent) EventType() string { return "connected" }

type emptyEvent struct{}

func (emptyEvent) EventType() string { return "done" }

// A script reads one object a line, with the event's type first.
func TestEmitWritesTypeThenFields(t *testing.T) {
	var buf bytes.Buffer
	j := NewJSON(&buf)
	j.Emit(testEvent{Path: "relayed", N: 2})
	j.Emit(testEvent{Path: "direct"})
	j.Emit(emptyEvent{})
	want := `{"type":"connected","path":"relayed","n":2}
{"type":"connected","path":"direct"}
{"type":"done"}
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	var nilJSON *JSON
	nilJSON.Emit(emptyEvent{}) // writes nothing, and does not panic
}
