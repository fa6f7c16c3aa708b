package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"imageshare/console"
	"imageshare/discovery"
	"imageshare/receive"
	"imageshare/study"
	"imageshare/transfer"
)

// The preview says what is still to fetch: all of it, or on a resume what
// is not here yet, in network bytes on both sides.
func TestFetchTextPreview(t *testing.T) {
	m := &transfer.Manifest{Files: []transfer.File{{Path: "a/1.dcm", Size: 40 << 20}}}
	for _, c := range []struct {
		toFetch int64
		want    string
	}{
		{32296140, "Transfer:     30.8 MiB to fetch (40.0 MiB of files)\n"},
		{12687769, "Transfer:     12.1 MiB to fetch (of 30.8 MiB; 18.7 MiB already here)\n"},
	} {
		var b bytes.Buffer
		p := &fetchText{w: &b}
		p.event(receive.Manifest{Files: 1, Bytes: 40 << 20, StoredBytes: 32296140, ToFetch: c.toFetch, Manifest: m,
			Studies: []study.Summary{{PatientName: "DOE^JANE"}}})
		if !strings.Contains(b.String(), c.want) || !strings.Contains(b.String(), "Report:       no\n") {
			t.Errorf("%d to fetch:\n%s\nwant %q", c.toFetch, b.String(), c.want)
		}
	}
}

// The lines staff see after the fetch: the time, and on a resume the
// file bytes kept apart from the network bytes.
func TestFetchTextVerified(t *testing.T) {
	var b bytes.Buffer
	p := &fetchText{w: &b}
	p.event(receive.Verified{Files: 134, Bytes: 30 << 20, Seconds: 2.0781, Reused: 10 << 20, Fetched: 15 << 20})
	p.event(receive.Saved{Dir: "in/study-1"})
	want := "receiver: 134 files (30.0 MiB) verified against their hashes in 2.078s\n" +
		"receiver: resumed: 10.0 MiB of the files were already here and 20.0 MiB fetched (15.0 MiB over the network)\n" +
		"receiver: study saved in in/study-1\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// A retry is one plain line; libp2p's dial errors only with --verbose.
func TestFetchTextRetry(t *testing.T) {
	err := &discovery.ConnectError{Err: errors.New("dial tcp 10.0.0.1:4001: i/o timeout")}
	until := time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local)
	for _, verbose := range []bool{false, true} {
		var b bytes.Buffer
		p := &fetchText{w: &b, verbose: verbose}
		p.event(receive.Retry{Attempt: 2, AfterSeconds: 1, Err: err, Message: err.Error(), Until: until})
		want := "receiver: the sender did not answer at any address on the card; trying again in 1s (attempt 2; giving up at 03:04:05)\n"
		if verbose {
			want = fmt.Sprintf("receiver: %v; trying again in 1s (attempt 2; giving up at 03:04:05)\n", err)
		}
		if b.String() != want {
			t.Errorf("verbose %v: %q, want %q", verbose, b.String(), want)
		}
	}
}

// --json writes the events scripts saw before the session became a
// package, with the same keys, and no others.
func TestFetchJSON(t *testing.T) {
	var b bytes.Buffer
	j := fetchJSON{console.NewJSON(&b)}
	j.event(receive.Card{OfferID: "o1", PeerID: "p1", Expires: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	j.event(receive.Connecting{PeerID: "p1", Attempt: 1})
	j.event(receive.Connected{Addr: "/ip4/127.0.0.1/tcp/1", Path: "direct", Seconds: 0.5})
	j.event(receive.Progress{Done: 1, Total: 2})
	j.event(receive.SeriesComplete{SeriesUID: "1.2", Number: 1, Description: "AX", Images: 3, Seconds: 1, Dir: "in/s"})
	j.event(receive.Retry{Attempt: 2, AfterSeconds: 1, Message: "m"})
	j.event(receive.Warning{Message: "w"})
	j.event(receive.Upgraded{})
	j.event(receive.Verified{Files: 1})
	j.event(receive.Saved{Dir: "in/s"})
	want := `{"expires":"2026-01-02T03:04:05Z","offer_id":"o1","passcode":false,"peer_id":"p1","type":"card"}
{"addr":"/ip4/127.0.0.1/tcp/1","path":"direct","seconds":0.5,"type":"connected"}
{"description":"AX","dir":"in/s","images":3,"number":1,"seconds":1,"series_uid":"1.2","type":"series_complete"}
{"after_seconds":1,"attempt":2,"message":"m","type":"retry"}
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}

	// The summary carries "pacs" only with --to-dicomweb: null if the
	// import did not begin.
	for _, c := range []struct {
		pacs any
		want string
	}{
		{nil, `"offer_id":"o","path":"direct"`},
		{(*importResult)(nil), `"offer_id":"o","pacs":null,"path":"direct"`},
	} {
		b.Reset()
		s := receive.Summary{OfferID: "o", Path: "direct", PACS: c.pacs, Verified: true}
		console.NewJSON(&b).Emit(s)
		if !strings.HasPrefix(b.String(), `{"attempts":0,`) || !strings.Contains(b.String(), c.want) {
			t.Errorf("summary %s, want %s", b.String(), c.want)
		}
	}
	b.Reset()
	console.NewJSON(&b).Emit(fetchErrorEvent{Card: 2, ExitCode: 3, Message: "m"})
	if got := b.String(); got != `{"card":2,"exit_code":3,"message":"m","type":"error"}`+"\n" {
		t.Errorf("error %s", got)
	}
}
