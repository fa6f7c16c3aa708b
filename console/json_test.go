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

// A script reads one object a line, its keys sorted as they were when the
// commands wrote maps.
func TestEmitWritesTypeThenFields(t *testing.T) {
	var buf bytes.Buffer
	j := NewJSON(&buf)
	j.Emit(testEvent{Path: "relayed", N: 2})
	j.Emit(testEvent{Path: "direct"})
	j.Emit(emptyEvent{})
	want := `{"n":2,"path":"relayed","type":"connected"}
{"path":"direct","type":"connected"}
{"type":"done"}
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	var nilJSON *JSON
	nilJSON.Emit(emptyEvent{}) // writes nothing, and does not panic
}

type badEvent struct {
	Type string `json:"type"`
}

func (badEvent) EventType() string { return "bad" }

// An event may not name a field "type": the line would hold it twice.
func TestEventWithTypeFieldRefused(t *testing.T) {
	if _, err := MarshalEvent(badEvent{Type: "x"}); err == nil {
		t.Error("an event with a type field was marshalled")
	}
}
