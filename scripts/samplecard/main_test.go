package main

import (
	"bytes"
	"testing"
	"time"

	"imageshare/card"
)

// The sample card is the same bytes on every run, reads back as a card,
// and that card has expired and names a documentation address only.
func TestSampleCard(t *testing.T) {
	a, err := sampleCard()
	if err != nil {
		t.Fatal(err)
	}
	b, err := sampleCard()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two runs drew different bytes")
	}
	uri, err := card.DecodeImage(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	o, err := card.ParseURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Expires.Before(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("the sample card expires %v, want 2000", o.Expires)
	}
	for _, a := range o.Addrs {
		if s := a.String(); !bytes.HasPrefix([]byte(s), []byte("/ip4/192.0.2.")) {
			t.Errorf("the sample card names %s, want only 192.0.2.0/24 (RFC 5737)", s)
		}
	}
}
