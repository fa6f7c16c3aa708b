package e2e

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/rogpeppe/go-internal/testscript"

	"imageshare/card"
	"imageshare/discovery"
	"imageshare/transfer"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "imageshare-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	build := exec.Command("go", "build", "-o", dir+string(os.PathSeparator),
		"imageshare/cmd/sender", "imageshare/cmd/receiver", "imageshare/cmd/dicomgen",
		"imageshare/cmd/relay", "imageshare/e2e/forgedsender")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the commands:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// sharedDICOM is ../shared/dicom beside the repository, or "".
func sharedDICOM(t *testing.T) string {
	dir, err := filepath.Abs(filepath.Join("..", "..", "shared", "dicom"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ct-pancreas")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI needs ../shared/dicom beside the repository: %v", err)
		}
		return ""
	}
	return dir
}

func TestScripts(t *testing.T) {
	shared := sharedDICOM(t)
	if shared == "" {
		t.Log("../shared/dicom is absent: scripts needing the real CT and fMRI series are skipped (CI requires it)")
	}
	if _, err := exec.LookPath("zbarimg"); err != nil && os.Getenv("CI") != "" {
		t.Fatal("CI needs zbarimg (Debian zbar-tools); .ci/run installs it")
	}
	if _, err := exec.LookPath("dcmmkdir"); err != nil && os.Getenv("CI") != "" {
		t.Fatal("CI needs dcmmkdir (Debian dcmtk); .ci/run installs it")
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", binDir+string(os.PathListSeparator)+env.Getenv("PATH"))
			env.Setenv("SHARED_DICOM", shared)
			env.Setenv("XDG_STATE_HOME", filepath.Join(env.WorkDir, "state"))
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "shared":
				return shared != "", nil
			case "zbarimg":
				_, err := exec.LookPath("zbarimg")
				return err == nil, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"waitfile":    cmdWaitFile,
			"cmpdir":      cmdCmpDir,
			"expectexit":  cmdExpectExit,
			"altercard":   cmdAlterCard,
			"dialnoproof": cmdDialNoProof,
			"nofiles":     cmdNoFiles,
			"globexists":  cmdGlobExists,
			"waitbytes":   cmdWaitBytes,
			"freeport":    cmdFreePort,
			"jsonfield":   cmdJSONField,
			"flipbyte":    cmdFlipByte,
			"flood":       cmdFlood,
			"mkzip":       cmdMkZip,
		},
	})
}

// waitfile FILE [SECONDS]: wait until FILE exists and is not empty.
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: waitfile FILE [SECONDS]")
	}
	limit := 120 * time.Second
	if len(args) > 1 {
		s, err := strconv.Atoi(args[1])
		ts.Check(err)
		limit = time.Duration(s) * time.Second
	}
	name := ts.MkAbs(args[0])
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if fi, err := os.Stat(name); err == nil && fi.Size() > 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("%s did not appear within %v", args[0], limit)
}

// cmpdir WANT GOT: every file under WANT is under GOT, byte for byte, and
// GOT holds nothing else but the receiver's own record in its .imageshare
// folder (what the fetch showed, for receiver import).
func cmdCmpDir(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: cmpdir WANT GOT")
	}
	want, got := ts.MkAbs(args[0]), ts.MkAbs(args[1])
	// GOT may be a pattern, as the study folder's name holds the offer ID.
	matches, _ := filepath.Glob(got)
	if len(matches) != 1 {
		ts.Fatalf("cmpdir: %s matches %d folders, want 1", args[1], len(matches))
	}
	got = matches[0]
	list := func(root string) map[string]string {
		files := map[string]string{}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && p == filepath.Join(got, ".imageshare") {
				return filepath.SkipDir
			}
			if d.Type().IsRegular() {
				rel, _ := filepath.Rel(root, p)
				files[filepath.ToSlash(rel)] = p
			}
			return nil
		})
		ts.Check(err)
		return files
	}
	w, g := list(want), list(got)
	for rel, p := range w {
		q, ok := g[rel]
		if !ok {
			ts.Fatalf("%s is missing from %s", rel, args[1])
		}
		a, err := os.ReadFile(p)
		ts.Check(err)
		b, err := os.ReadFile(q)
		ts.Check(err)
		if !bytes.Equal(a, b) {
			ts.Fatalf("%s differs (%d bytes sent, %d received)", rel, len(a), len(b))
		}
	}
	for rel := range g {
		if _, ok := w[rel]; !ok {
			ts.Fatalf("%s holds %s, which was not sent", args[1], rel)
		}
	}
	fmt.Fprintf(ts.Stdout(), "%d files identical\n", len(w))
}

// expectexit CODE PROG ARGS...: run PROG and check its exit status.
func cmdExpectExit(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: expectexit CODE PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("running %s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// altercard secret|peer IN OUT: write a card that differs from IN in its
// secret, or that names another peer at the same addresses.
func cmdAlterCard(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: altercard secret|peer IN OUT")
	}
	o, err := card.ParseURI(ts.ReadFile(args[1]))
	ts.Check(err)
	switch args[0] {
	case "secret":
		o.Secret[0] ^= 1
	case "peer":
		_, pub, err := crypto.GenerateEd25519Key(nil)
		ts.Check(err)
		o.Peer, err = peer.IDFromPublicKey(pub)
		ts.Check(err)
	default:
		ts.Fatalf("altercard: unknown change %q", args[0])
	}
	u, err := o.URI()
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[2]), []byte(u+"\n"), 0o600))
}

// dialnoproof URIFILE: connect to the card's sender over libp2p without
// the card's secret, ask for the manifest and a chunk with a made-up proof,
// and print the frame types the sender answers with.
func cmdDialNoProof(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: dialnoproof URIFILE")
	}
	o, err := card.ParseURI(ts.ReadFile(args[0]))
	ts.Check(err)
	h, err := discovery.NewHost(discovery.HostOptions{})
	ts.Check(err)
	defer h.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = discovery.Connect(ctx, h, o.Peer, o.Addrs, 20*time.Second, nil)
	ts.Check(err)
	st, err := h.NewStream(ctx, o.Peer, transfer.ProtocolID)
	ts.Check(err)
	defer st.Close()
	proof := make([]byte, 64)
	rand.Read(proof)
	var req bytes.Buffer
	frame := func(t byte, p []byte) {
		req.WriteByte(t)
		binary.Write(&req, binary.BigEndian, uint32(len(p)))
		req.Write(p)
	}
	frame(byte(transfer.MsgHello), append(o.ID[:], proof...))
	frame(byte(transfer.MsgGetManifest), nil)
	frame(byte(transfer.MsgGetChunk), []byte{0, 0, 0, 0})
	_, err = st.Write(req.Bytes())
	ts.Check(err)
	st.CloseWrite()
	st.SetReadDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(st)
	var total int
	for {
		var hdr [5]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			break
		}
		n := binary.BigEndian.Uint32(hdr[1:])
		p := make([]byte, n)
		if _, err := io.ReadFull(r, p); err != nil {
			break
		}
		total += int(n)
		fmt.Fprintf(ts.Stdout(), "frame %v\n", transfer.MsgType(hdr[0]))
	}
	fmt.Fprintf(ts.Stdout(), "received %d payload bytes\n", total)
}

// nofiles DIR: DIR holds no regular file (it may not exist).
func cmdNoFiles(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: nofiles DIR")
	}
	var found []string
	filepath.WalkDir(ts.MkAbs(args[0]), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			found = append(found, p)
		}
		return nil
	})
	if len(found) > 0 {
		ts.Fatalf("%s holds %d files, e.g. %s", args[0], len(found), strings.Join(found[:min(3, len(found))], ", "))
	}
}

// globexists PATTERN: some file matches PATTERN.
func cmdGlobExists(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: globexists PATTERN")
	}
	m, err := filepath.Glob(ts.MkAbs(args[0]))
	ts.Check(err)
	if neg != (len(m) == 0) {
		ts.Fatalf("%s matches %d files", args[0], len(m))
	}
}

// waitbytes DIR N [SECONDS]: wait until the files under DIR hold N bytes.
func cmdWaitBytes(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: waitbytes DIR N [SECONDS]")
	}
	want, err := strconv.ParseInt(args[1], 10, 64)
	ts.Check(err)
	limit := 60 * time.Second
	if len(args) > 2 {
		s, err := strconv.Atoi(args[2])
		ts.Check(err)
		limit = time.Duration(s) * time.Second
	}
	deadline := time.Now().Add(limit)
	var n int64
	for time.Now().Before(deadline) {
		n = 0
		filepath.WalkDir(ts.MkAbs(args[0]), func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil {
					n += fi.Size()
				}
			}
			return nil
		})
		if n >= want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	ts.Fatalf("%s holds %d bytes after %v, want %d", args[0], n, limit, want)
}

// freeport NAME: set $NAME to a TCP port that is free now.
func cmdFreePort(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: freeport NAME")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ts.Setenv(args[0], strconv.Itoa(port))
}

// jsonfield FILE TYPE FIELD OP VALUE: in the JSON Lines of FILE, the last
// line of "type" TYPE has FIELD compared to VALUE by OP (==, >, <, >=).
func cmdJSONField(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 5 {
		ts.Fatalf("usage: jsonfield FILE TYPE FIELD OP VALUE")
	}
	var last map[string]any
	for _, line := range strings.Split(ts.ReadFile(args[0]), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["type"] == args[1] {
			last = m
		}
	}
	if last == nil {
		ts.Fatalf("no %q line in %s", args[1], args[0])
	}
	got, ok := last[args[2]].(float64)
	if !ok {
		ts.Fatalf("%s.%s is %v, not a number", args[1], args[2], last[args[2]])
	}
	want, err := strconv.ParseFloat(args[4], 64)
	ts.Check(err)
	ok = map[string]bool{"==": got == want, ">": got > want, "<": got < want, ">=": got >= want, "<=": got <= want}[args[3]]
	if !ok {
		ts.Fatalf("%s.%s = %v, want %s %v", args[1], args[2], got, args[3], want)
	}
	fmt.Fprintf(ts.Stdout(), "%s.%s = %v\n", args[1], args[2], got)
}

// flipbyte PATTERN FRACTION: flip one bit of the one file matching PATTERN,
// at FRACTION (0 to 1) of its length: damage, as a failing disk does.
func cmdFlipByte(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: flipbyte PATTERN FRACTION")
	}
	m, err := filepath.Glob(ts.MkAbs(args[0]))
	ts.Check(err)
	if len(m) != 1 {
		ts.Fatalf("%s matches %d files, want 1", args[0], len(m))
	}
	frac, err := strconv.ParseFloat(args[1], 64)
	ts.Check(err)
	b, err := os.ReadFile(m[0])
	ts.Check(err)
	b[int(float64(len(b)-1)*frac)] ^= 0x10
	ts.Check(os.WriteFile(m[0], b, 0o600))
}

// flood URIFILE N: open N streams to the card's sender at once over one
// libp2p connection, half sending junk and half saying nothing, and keep
// them open for 30 s in the background while the script goes on.
func cmdFlood(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: flood URIFILE N")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	o, err := card.ParseURI(ts.ReadFile(args[0]))
	ts.Check(err)
	h, err := discovery.NewHost(discovery.HostOptions{})
	ts.Check(err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	_, err = discovery.Connect(ctx, h, o.Peer, o.Addrs, 20*time.Second, nil)
	ts.Check(err)
	opened := 0
	for i := range n {
		st, err := h.NewStream(ctx, o.Peer, transfer.ProtocolID)
		if err != nil {
			continue
		}
		opened++
		if i%2 == 0 {
			junk := make([]byte, 4096)
			rand.Read(junk)
			st.Write(junk)
		}
	}
	go func() { <-ctx.Done(); h.Close(); cancel() }()
	fmt.Fprintf(ts.Stdout(), "opened %d of %d streams\n", opened, n)
}

// mkzip ZIP DIR [NAME=FILE]...: write ZIP holding every file under DIR by
// its relative name, then an entry NAME holding FILE for each NAME=FILE,
// whatever NAME is ("../evil" too).
func cmdMkZip(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: mkzip ZIP DIR [NAME=FILE]...")
	}
	out, err := os.Create(ts.MkAbs(args[0]))
	ts.Check(err)
	zw := zip.NewWriter(out)
	add := func(name, file string) {
		w, err := zw.Create(name)
		ts.Check(err)
		b, err := os.ReadFile(file)
		ts.Check(err)
		_, err = w.Write(b)
		ts.Check(err)
	}
	dir := ts.MkAbs(args[1])
	ts.Check(filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			add(filepath.ToSlash(rel), p)
		}
		return err
	}))
	for _, a := range args[2:] {
		name, file, ok := strings.Cut(a, "=")
		if !ok {
			ts.Fatalf("mkzip: %q is not NAME=FILE", a)
		}
		add(name, ts.MkAbs(file))
	}
	ts.Check(zw.Close())
	ts.Check(out.Close())
}
