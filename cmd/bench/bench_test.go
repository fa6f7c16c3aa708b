//go:build linux

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"1GB", 1e9}, {"300MB", 300e6}, {"1.5gb", 1.5e9}, {"2GiB", 2 << 30}, {"512MiB", 512 << 20},
		{"100KB", 100e3}, {"1000", 1000}, {"1000B", 1000}, {" 1 GB ", 1e9},
	} {
		got, err := parseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "GB", "-1GB", "0", "0.1B", "1XB", "one GB"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestParseLinkRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
	}{
		{"100mbit", 12.5e6}, {"1gbit", 125e6}, {"1Gbit", 125e6}, {"800kbit", 100e3}, {"8bit", 1},
	} {
		got, err := parseLinkRate(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseLinkRate(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "100", "100mb", "mbit", "-1mbit"} {
		if got, err := parseLinkRate(in); err == nil {
			t.Errorf("parseLinkRate(%q) = %v, want an error", in, got)
		}
	}
}

func TestParseArgs(t *testing.T) {
	c, err := parseArgs([]string{"-size", "300MB", "-skip-wan", "-rates", "100mbit, 1gbit", "-delay", "40ms"})
	if err != nil {
		t.Fatal(err)
	}
	if c.size != 300e6 || !c.skipWAN || len(c.rates) != 2 || c.rates[1] != "1gbit" || c.delay != 40*time.Millisecond {
		t.Errorf("parseArgs: %+v", c)
	}
	for _, args := range [][]string{{"-size", "big"}, {"-rates", "fast"}, {"-delay", "-1s"}, {"extra"}} {
		if _, err := parseArgs(args); err == nil {
			t.Errorf("parseArgs(%q): no error", args)
		}
	}
}

func writeLines(t *testing.T, lines ...string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "out.jsonl")
	if err := os.WriteFile(name, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestReadReceiver(t *testing.T) {
	out := writeLines(t,
		`{"type":"card","offer_id":"00"}`,
		`not JSON: a warning`,
		`{"type":"connected","addr":"/ip4/10.77.1.1/tcp/7471","path":"direct"}`,
		`{"type":"series_complete","number":2,"seconds":0.75}`,
		`{"type":"series_complete","number":1,"seconds":1.5}`,
		`{"type":"summary","files":268,"bytes":141133448,"fetched_bytes":141133448,"seconds":2.25}`,
	)
	var e endToEnd
	if err := e.readReceiver(out); err != nil {
		t.Fatal(err)
	}
	if e.Addr != "/ip4/10.77.1.1/tcp/7471" || e.Files != 268 || e.StudyBytes != 141133448 || e.Seconds != 2.25 {
		t.Errorf("readReceiver: %+v", e)
	}
	if e.FirstSeriesSeconds == nil || *e.FirstSeriesSeconds != 0.75 {
		t.Errorf("first series: %v, want 0.75", e.FirstSeriesSeconds)
	}

	// A receiver that reports no series: n/a.
	e = endToEnd{}
	if err := e.readReceiver(writeLines(t, `{"type":"summary","files":1,"bytes":10,"seconds":1}`)); err != nil {
		t.Fatal(err)
	}
	if e.FirstSeriesSeconds != nil {
		t.Errorf("first series: %v, want nil", *e.FirstSeriesSeconds)
	}
	if err := e.readReceiver(writeLines(t, `{"type":"error","exit_code":4}`)); err == nil {
		t.Error("no summary: no error")
	}
}

func TestReadSender(t *testing.T) {
	var e endToEnd
	if err := e.readSender(writeLines(t, `{"type":"study"}`, `{"type":"offer","stored_bytes":64000000,"pack_seconds":1.25}`)); err != nil {
		t.Fatal(err)
	}
	if e.StoredBytes != 64e6 || e.PackSeconds != 1.25 {
		t.Errorf("readSender: %+v", e)
	}
	if err := e.readSender(writeLines(t, `{"type":"offer"}`)); err == nil {
		t.Error("offer without stored_bytes: no error")
	}
}

func TestTable(t *testing.T) {
	r := &report{}
	r.Study.Source, r.Study.Files, r.Study.Bytes, r.Host.Kernel = "test", 2, 300e6, "6.1"
	r.add("loopback", "raw", 512.25, "MB/s")
	r.atLeast("loopback", "share", 20, "%", 25, "≥ 25%")
	r.atMost("WAN", "peak RSS", 60, "MB", 150, "≤ 150")
	r.na("WAN", "first series", "s")
	var buf bytes.Buffer
	r.writeTable(&buf)
	out := buf.String()
	for _, want := range []string{"loopback\n", "512.2 MB/s", "20 %", "FAIL", "pass", "n/a s", "WAN\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimRight(line, " ") != line {
			t.Errorf("trailing space in %q", line)
		}
	}
}

// forward over pipes: every packet arrives whole, in order, no sooner
// than the delay.
func TestForward(t *testing.T) {
	var in, out [2]int
	if err := syscall.Pipe(in[:]); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Pipe(out[:]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, fd := range []int{in[0], out[0], out[1]} {
			syscall.Close(fd)
		}
	})
	const delay = 30 * time.Millisecond
	var stats forwardStats
	go forward(in[0], out[1], delay, &stats)
	start := time.Now()
	for _, p := range []string{"one", "two"} {
		syscall.Write(in[1], []byte(p))
		time.Sleep(5 * time.Millisecond) // one read a packet, as from a TUN device
	}
	buf := make([]byte, 16)
	got := ""
	for len(got) < len("onetwo") {
		n, err := syscall.Read(out[0], buf)
		if err != nil {
			t.Fatal(err)
		}
		got += string(buf[:n])
		if len(got) == 3 && time.Since(start) < delay {
			t.Errorf("first packet after %v, before the delay", time.Since(start))
		}
	}
	if got != "onetwo" {
		t.Errorf("forwarded %q, want %q", got, "onetwo")
	}
	syscall.Close(in[1]) // ends forward
}
