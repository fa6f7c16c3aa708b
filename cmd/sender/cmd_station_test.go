package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is a bytes.Buffer for a command that writes from several
// goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestStationRefusesNetworkWithoutTLSAndLogin(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"station", "--spool", filepath.Join(dir, "spool"), "--audit", filepath.Join(dir, "audit.jsonl"),
		"--listen", "0.0.0.0:0"}, nil, &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "is not a loopback address") || stdout.Len() > 0 {
		t.Errorf("exit %d, stderr %q, stdout %q; want %d saying why", code, stderr.String(), stdout.String(), exitUsage)
	}
}

func TestStationUsage(t *testing.T) {
	for name, args := range map[string][]string{
		"argument":          {"station", "./study"},
		"credentials alone": {"station", "--dicomweb-credentials", "creds"},
		"bad PACS URL":      {"station", "--from-dicomweb", "pacs:8042"},
		"bad p2p address":   {"station", "--p2p-listen", "0.0.0.0:7471"},
		"expiry":            {"station", "--expires", "-1h"},
	} {
		var stderr bytes.Buffer
		if code := run(context.Background(), args, nil, io.Discard, &stderr); code != exitUsage {
			t.Errorf("%s: exit %d (%s), want %d", name, code, stderr.String(), exitUsage)
		}
	}
}

// TestStationReadyAndStop: the station says where it listens, with
// --json, answers there, and stops with exit 0 when interrupted.
func TestStationReadyAndStop(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	stderr := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"station", "--spool", filepath.Join(dir, "spool"), "--audit", filepath.Join(dir, "audit.jsonl"),
			"--listen", "127.0.0.1:0", "--p2p-listen", "/ip4/127.0.0.1/tcp/0", "--site", "St Elsewhere ED", "--json"}, nil, pw, stderr)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no ready line: %v (stderr %q)", err, stderr.String())
	}
	go io.Copy(io.Discard, pr)
	var ready struct{ Type, URL string }
	if err := json.Unmarshal([]byte(line), &ready); err != nil || ready.Type != "ready" || !strings.HasPrefix(ready.URL, "http://127.0.0.1:") {
		t.Fatalf("ready line %q: %v", line, err)
	}
	resp, err := http.Get(ready.URL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "St Elsewhere ED") {
		t.Errorf("the page: %d %.200q", resp.StatusCode, page)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("interrupted station exited %d, want 0 (stderr %q)", code, stderr.String())
	}
}
