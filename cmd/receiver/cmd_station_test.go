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
	"testing"
	"time"
)

// receiver station serves the page until cancelled, and says where:
// {"type":"ready","url":…} with --json. Cancelled, it exits 0.
func TestStationServesUntilCancelled(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"station", "--out", t.TempDir(), "--listen", "127.0.0.1:0", "--json",
			"--audit", filepath.Join(t.TempDir(), "audit.jsonl")}, nil, pw, &stderr)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no ready line (%v); stderr: %s", err, stderr.String())
	}
	var ready struct{ Type, URL string }
	if err := json.Unmarshal([]byte(line), &ready); err != nil || ready.Type != "ready" || !strings.HasPrefix(ready.URL, "http://127.0.0.1:") {
		t.Fatalf("ready line %q (%v)", line, err)
	}
	res, err := http.Get(ready.URL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !bytes.Contains(page, []byte("Show the patient's card to the camera")) {
		t.Errorf("the page: %s\n%.300s", res.Status, page)
	}
	cancel()
	go io.Copy(io.Discard, pr)
	if c := <-code; c != exitOK {
		t.Errorf("exit %d after Ctrl-C, want 0; stderr: %s", c, stderr.String())
	}
}

// A station on an address other than loopback without TLS and a login
// refuses to start, saying why (exit 2); so do bad flags.
func TestStationRefuses(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	audit := filepath.Join(t.TempDir(), "audit.jsonl")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--out", t.TempDir(), "--listen", "0.0.0.0:0", "--audit", audit}, "is not a loopback address"},
		{[]string{"--listen", "127.0.0.1:0"}, "--out DIR is required"},
		{[]string{"--out", t.TempDir(), "--dicomweb-credentials", "f"}, "--dicomweb-credentials needs --to-dicomweb"},
		{[]string{"--out", t.TempDir(), "extra"}, "unexpected argument"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"station"}, c.args...), nil, &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("receiver station %q: exit %d, stderr %q; want 2 and %q", c.args, code, stderr.String(), c.want)
		}
	}
}
