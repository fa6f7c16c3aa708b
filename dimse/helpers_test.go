package dimse

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"imageshare/internal/testenv"
)

// wait bounds every wait on a condition in these tests.
const wait = 60 * time.Second

// recorder keeps a server's events and wakes those waiting for one.
type recorder struct {
	mu     sync.Mutex
	events []Event
	change chan struct{}
}

func newRecorder() *recorder { return &recorder{change: make(chan struct{})} }

func (r *recorder) add(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	close(r.change)
	r.change = make(chan struct{})
}

// waitFor waits until n events satisfy f, and returns them.
func (r *recorder) waitFor(t *testing.T, n int, what string, f func(Event) bool) []Event {
	t.Helper()
	deadline := time.After(wait)
	for {
		r.mu.Lock()
		var got []Event
		for _, e := range r.events {
			if f(e) {
				got = append(got, e)
			}
		}
		ch := r.change
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-ch:
		case <-deadline:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("no %d events %s within %v; events: %s", n, what, wait, describe(r.events))
		}
	}
}

func describe(es []Event) string {
	var b bytes.Buffer
	for _, e := range es {
		fmt.Fprintf(&b, "\n\t%s %+v", e.EventType(), e)
	}
	return b.String()
}

// serve runs s on a loopback port until the test ends, and returns its
// address and port.
func serve(t *testing.T, s *Server) (string, string, *recorder) {
	t.Helper()
	rec := newRecorder()
	s.Events = rec.add
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return ln.Addr().String(), port, rec
}

// tool returns the path of a dcmtk tool, or skips (fails under CI).
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testenv.Missing(t, "dcmtk's %s is not installed: %v", name, err)
	}
	return p
}

// run runs a dcmtk tool to its end, within wait, and returns its output
// and error.
func run(t *testing.T, name string, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool(t, name), args...)
	return cmd.CombinedOutput()
}

// freePort returns a loopback port free a moment ago, for a tool that
// cannot be told to take port 0.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// storescp starts dcmtk's storescp on a free loopback port, writing to
// dir, and returns its address once it accepts connections.
func storescp(t *testing.T, dir string, args ...string) string {
	t.Helper()
	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", port)
	startServer(t, addr, func(ctx context.Context) error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}, "storescp", append(append([]string{"-aet", "STORESCP", "-od", dir}, args...), port)...)
	return addr
}

// startServer starts a dcmtk server (in the tests' network namespace),
// stopped when the test ends, and returns once ready, tried every 20 ms,
// reports it answers at addr, within wait. Its output is logged if the
// test fails.
func startServer(t *testing.T, addr string, ready func(context.Context) error, name string, args ...string) {
	t.Helper()
	requirePeerNet(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, tool(t, name), args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("%s:\n%s", name, out.String())
		}
	})
	deadline := time.Now().Add(wait)
	for {
		rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := ready(rctx)
		rcancel()
		if err == nil {
			return
		}
		select {
		case <-exited:
			t.Fatalf("%s exited: %s", name, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not answer on %s within %v: %v", name, addr, wait, err)
		}
	}
}

// fileContexts are the presentation contexts that propose files in their
// own transfer syntaxes (StoreContexts), and the files' meta.
func fileContexts(t *testing.T, files []string) ([]Context, []*FileMeta) {
	t.Helper()
	var metas []*FileMeta
	for _, f := range files {
		m, err := ReadFileMeta(f)
		if err != nil {
			t.Fatal(err)
		}
		metas = append(metas, m)
	}
	cs, err := StoreContexts(metas)
	if err != nil {
		t.Fatal(err)
	}
	return cs, metas
}

// dataSet returns the bytes of a PS3.10 file after its meta group, and
// its meta.
func dataSet(t *testing.T, path string) ([]byte, *FileMeta) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ReadMeta(bufio.NewReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b[m.Length:], m
}

// zoo returns the format-zoo files of the shared DICOM named, by path
// under format-zoo.
func zoo(t *testing.T, names ...string) []string {
	t.Helper()
	var paths []string
	for _, n := range names {
		p := filepath.Join(testenv.SharedDICOM(t), "format-zoo", n)
		if _, err := os.Stat(p); err != nil {
			testenv.Missing(t, "format-zoo file %s: %v", n, err)
		}
		paths = append(paths, p)
	}
	return paths
}

// storescuConfig writes a storescu configuration (-xf FILE Own) that
// proposes each file's SOP class in the file's own transfer syntax only,
// so that storescu sends each data set as it is in the file.
func storescuConfig(t *testing.T, files []string) string {
	t.Helper()
	var ts, pcs bytes.Buffer
	ts.WriteString("[[TransferSyntaxes]]\n")
	pcs.WriteString("[[PresentationContexts]]\n[Own]\n")
	seen := map[string]bool{}
	n := 0
	for _, f := range files {
		m, err := ReadFileMeta(f)
		if err != nil {
			t.Fatal(err)
		}
		key := m.SOPClassUID + "\\" + m.TransferSyntaxUID
		if seen[key] {
			continue
		}
		seen[key] = true
		n++
		fmt.Fprintf(&ts, "[TS%d]\nTransferSyntax1 = %s\n", n, m.TransferSyntaxUID)
		fmt.Fprintf(&pcs, "PresentationContext%d = %s\\TS%d\n", n, m.SOPClassUID, n)
	}
	cfg := ts.String() + pcs.String() + "[[Profiles]]\n[Own]\nPresentationContexts = Own\n"
	p := filepath.Join(t.TempDir(), "storescu.cfg")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// storescpConfig writes a storescp configuration (-xf FILE Own) that
// accepts each file's SOP class in the transfer syntaxes of the files, as
// an SCP profile must: one context a SOP class.
func storescpConfig(t *testing.T, files []string) string {
	t.Helper()
	var order []string
	syntaxes := map[string][]string{}
	for _, f := range files {
		m, err := ReadFileMeta(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := syntaxes[m.SOPClassUID]; !ok {
			order = append(order, m.SOPClassUID)
		}
		if !slices.Contains(syntaxes[m.SOPClassUID], m.TransferSyntaxUID) {
			syntaxes[m.SOPClassUID] = append(syntaxes[m.SOPClassUID], m.TransferSyntaxUID)
		}
	}
	var ts, pcs bytes.Buffer
	ts.WriteString("[[TransferSyntaxes]]\n")
	pcs.WriteString("[[PresentationContexts]]\n[Own]\n")
	for i, sop := range order {
		fmt.Fprintf(&ts, "[TS%d]\n", i+1)
		for j, u := range syntaxes[sop] {
			fmt.Fprintf(&ts, "TransferSyntax%d = %s\n", j+1, u)
		}
		fmt.Fprintf(&pcs, "PresentationContext%d = %s\\TS%d\n", i+1, sop, i+1)
	}
	cfg := ts.String() + pcs.String() + "[[Profiles]]\n[Own]\nPresentationContexts = Own\n"
	p := filepath.Join(t.TempDir(), "storescp.cfg")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
