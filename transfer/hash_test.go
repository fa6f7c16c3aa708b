package transfer

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestHashText: a Hash is 64 lowercase hex digits in JSON, the same
// spelling the manifest had as a string, and only that spelling is read.
func TestHashText(t *testing.T) {
	var h Hash
	for i := range h {
		h[i] = byte(i * 7)
	}
	hexs := "00070e151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9"
	js, err := json.Marshal(struct {
		H Hash `json:"blake3"`
	}{h})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"blake3":"` + hexs + `"}`; string(js) != want {
		t.Errorf("marshal: %s, want %s", js, want)
	}
	if h.String() != hexs {
		t.Errorf("String: %s", h)
	}
	var back Hash
	if err := json.Unmarshal([]byte(`"`+hexs+`"`), &back); err != nil || back != h {
		t.Errorf("unmarshal: %x, %v", back, err)
	}
	for name, s := range map[string]string{
		"empty":     "",
		"short":     hexs[:63],
		"long":      hexs + "0",
		"upper":     strings.ToUpper(hexs),
		"not hex":   "g" + hexs[1:],
		"odd space": " " + hexs[1:],
	} {
		var x Hash
		if err := x.UnmarshalText([]byte(s)); err == nil {
			t.Errorf("%s: accepted %q", name, s)
		}
	}
}
