//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"imageshare/internal/profile"
)

// placement says where the two sides of a run are.
type placement struct {
	name       string   // of the run, for its folder
	senderNS   string   // network namespace of the sender, "" for this one
	receiverNS string   // of the receiver
	listen     []string // the sender's --listen
}

// endToEnd is one run of bin/sender send and bin/receiver fetch.
type endToEnd struct {
	Addr         string  `json:"addr"` // where the receiver connected
	StudyBytes   int64   `json:"study_bytes"`
	Files        int     `json:"files"`
	StoredBytes  int64   `json:"stored_bytes"`
	FetchedBytes int64   `json:"fetched_bytes"`
	Seconds      float64 `json:"seconds"` // the receiver's summary: connect to receipt
	PackSeconds  float64 `json:"pack_seconds"`
	// CardReadySeconds is the wall time from starting the sender to its
	// URI file appearing.
	CardReadySeconds float64 `json:"card_ready_seconds"`
	// FirstSeriesSeconds is the first series_complete line's seconds; nil
	// when the receiver reports none.
	FirstSeriesSeconds *float64  `json:"first_series_seconds"`
	Sender             resources `json:"sender"`
	Receiver           resources `json:"receiver"`
}

// ratio is the compression ratio: study bytes to stored bytes.
func (e *endToEnd) ratio() float64 { return float64(e.StudyBytes) / float64(e.StoredBytes) }

// rate is study bytes a second, in MB/s.
func (e *endToEnd) rate() float64 { return float64(e.StudyBytes) / e.Seconds / 1e6 }

// endToEnd sends the study with bin/sender and fetches it with
// bin/receiver, placed as p says, and reads what both report.
func (b *bench) endToEnd(ctx context.Context, p placement) (*endToEnd, error) {
	dir, err := b.runDir(p.name)
	if err != nil {
		return nil, err
	}
	defer b.doneWith(dir)
	uriFile := filepath.Join(dir, "uri.txt")
	senderArgs := []string{filepath.Join(b.c.bin, "sender"), "send", "--json", "--quiet",
		"--site", "imageshare bench", "--uri-file", uriFile, "--max-downloads", "1"}
	for _, l := range p.listen {
		senderArgs = append(senderArgs, "--listen", l)
	}
	senderArgs = append(senderArgs, b.st.Dir)
	snd, err := startChild(ctx, p.senderNS, b.env(dir, p.name, "sender"),
		filepath.Join(dir, "sender"), senderArgs...)
	if err != nil {
		return nil, err
	}
	defer snd.stop()
	packTimeout := time.Minute + time.Duration(float64(b.st.Bytes)/5e6)*time.Second
	if err := snd.waitFor(ctx, packTimeout, "the card", func() bool {
		fi, err := os.Stat(uriFile)
		return err == nil && fi.Size() > 0
	}); err != nil {
		return nil, err
	}
	e := &endToEnd{CardReadySeconds: time.Since(snd.start).Seconds()}

	rcv, err := startChild(ctx, p.receiverNS, b.env(dir, p.name, "receiver"),
		filepath.Join(dir, "receiver"), append([]string{filepath.Join(b.c.bin, "receiver"), "fetch", "--json", "--quiet", "--yes",
			"--retry-for", "1m", "--out", filepath.Join(dir, "received"), "--uri-file", uriFile}, b.c.receiverArgs...)...)
	if err != nil {
		return nil, err
	}
	defer rcv.stop()
	fetchTimeout := 2*time.Minute + time.Duration(float64(b.st.Bytes)/1e6)*time.Second
	if e.Receiver, err = rcv.wait(fetchTimeout); err != nil {
		return nil, err
	}
	if e.Sender, err = snd.wait(30 * time.Second); err != nil {
		return nil, fmt.Errorf("after the receiver finished: %w", err)
	}
	if err := e.readSender(snd.stdout); err != nil {
		return nil, err
	}
	if err := e.readReceiver(rcv.stdout); err != nil {
		return nil, err
	}
	if e.StudyBytes != b.st.Bytes || e.Files != len(b.st.Files) {
		return nil, fmt.Errorf("the receiver reports %d files, %d bytes; the study has %d files, %d bytes",
			e.Files, e.StudyBytes, len(b.st.Files), b.st.Bytes)
	}
	return e, nil
}

// env is the environment of one side of a run: its own state folder, and
// its profile when -profile asks for one.
func (b *bench) env(dir, run, side string) []string {
	env := []string{"XDG_STATE_HOME=" + filepath.Join(dir, side+"-state")}
	if b.c.profile != "" {
		env = append(env, profile.CPUEnv+"="+filepath.Join(b.c.profile, run+"-"+side+".pprof"))
	}
	return env
}

// readSender reads the sender's offer line.
func (e *endToEnd) readSender(stdout string) error {
	lines, err := jsonLines(stdout)
	if err != nil {
		return err
	}
	for _, l := range lines {
		if l["type"] != "offer" {
			continue
		}
		stored, ok1 := number(l, "stored_bytes")
		pack, ok2 := number(l, "pack_seconds")
		if !ok1 || !ok2 || stored <= 0 {
			return errors.New("the sender's offer line lacks stored_bytes or pack_seconds")
		}
		e.StoredBytes, e.PackSeconds = int64(stored), pack
		return nil
	}
	return errors.New("the sender printed no offer line")
}

// readReceiver reads the receiver's connected, series_complete and
// summary lines.
func (e *endToEnd) readReceiver(stdout string) error {
	lines, err := jsonLines(stdout)
	if err != nil {
		return err
	}
	var summary map[string]any
	for _, l := range lines {
		switch l["type"] {
		case "connected":
			e.Addr, _ = l["addr"].(string)
		case "series_complete":
			if s, ok := number(l, "seconds"); ok && e.FirstSeriesSeconds == nil {
				e.FirstSeriesSeconds = &s
			}
		case "summary":
			summary = l
		}
	}
	if summary == nil {
		return errors.New("the receiver printed no summary line")
	}
	secs, ok1 := number(summary, "seconds")
	bytes, ok2 := number(summary, "bytes")
	fetched, _ := number(summary, "fetched_bytes")
	files, ok3 := number(summary, "files")
	if !ok1 || !ok2 || !ok3 || secs <= 0 {
		return errors.New("the receiver's summary lacks seconds, bytes or files")
	}
	e.Seconds, e.StudyBytes, e.FetchedBytes, e.Files = secs, int64(bytes), int64(fetched), int(files)
	return nil
}
