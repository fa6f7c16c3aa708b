// Package vectors reads and writes the protocol's test vectors in
// testdata/ at the top of the module: one file a vector, in the manner of
// age's vectors (c2sp.org/CCTV/age).
//
// A vector file is a header of "key: value" lines, a blank line, and a
// body:
//
//	expect: success                  (or "error CLASS", see testdata/README.md)
//	comment: a card for a loopback sender
//	secret: 000102…1f
//	body: text
//
//	IMAGESHARE:V1:…
//
// A key may repeat (addr). The "body" key says how the body is written:
// "raw" (the default: the bytes exactly as they follow the blank line, such
// as an age file), "hex" (hexadecimal, white space ignored) or "text" (UTF-8,
// one final newline dropped).
//
// The tests of card, crypto and transfer read the vectors; with -update,
// they write them again (go test ./card ./crypto ./transfer -run Vectors -update).
package vectors

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// Field is one header line.
type Field struct{ Key, Value string }

// Vector is one vector file.
type Vector struct {
	Name   string // the file's name within its folder
	Header []Field
	Body   []byte // as written in the file
}

// Dir returns the path of testdata/<sub> at the top of the module.
func Dir(sub string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", sub)
}

// Load reads every vector of testdata/<sub>, skipping README.md and files
// that another vector names as its plaintext. It fails the test if the
// folder is missing or holds no vector: a test that checks nothing must
// not pass.
func Load(t testing.TB, sub string) []*Vector {
	t.Helper()
	dir := Dir(sub)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("test vectors: %v", err)
	}
	var vs []*Vector
	for _, e := range entries {
		if e.IsDir() || e.Name() == "README.md" || strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		v, err := Parse(e.Name(), b)
		if err != nil {
			t.Fatalf("test vector %s/%s: %v", sub, e.Name(), err)
		}
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		t.Fatalf("no test vectors in %s", dir)
	}
	return vs
}

// Parse reads one vector file.
func Parse(name string, b []byte) (*Vector, error) {
	v := &Vector{Name: name}
	for {
		line, rest, ok := bytes.Cut(b, []byte("\n"))
		if !ok {
			return nil, fmt.Errorf("no blank line after the header")
		}
		b = rest
		if len(line) == 0 {
			break
		}
		k, val, ok := strings.Cut(string(line), ": ")
		if !ok {
			return nil, fmt.Errorf("header line %q is not \"key: value\"", line)
		}
		v.Header = append(v.Header, Field{k, val})
	}
	v.Body = b
	if v.All("expect") == nil {
		return nil, fmt.Errorf("no expect line")
	}
	return v, nil
}

// All returns every value of key, in order.
func (v *Vector) All(key string) []string {
	var out []string
	for _, f := range v.Header {
		if f.Key == key {
			out = append(out, f.Value)
		}
	}
	return out
}

// Get returns the value of key, or "" if it is absent.
func (v *Vector) Get(key string) string {
	if all := v.All(key); len(all) > 0 {
		return all[0]
	}
	return ""
}

// Must returns the value of key, failing the test if it is absent.
func (v *Vector) Must(t testing.TB, key string) string {
	t.Helper()
	all := v.All(key)
	if len(all) != 1 {
		t.Fatalf("%s: want one %q line, have %d", v.Name, key, len(all))
	}
	return all[0]
}

// Hex decodes the hexadecimal value of key.
func (v *Vector) Hex(t testing.TB, key string) []byte {
	t.Helper()
	b, err := hex.DecodeString(v.Must(t, key))
	if err != nil {
		t.Fatalf("%s: %s: %v", v.Name, key, err)
	}
	return b
}

// Expect returns "success", or the class of an "error CLASS" expectation.
func (v *Vector) Expect() (success bool, class string) {
	e := v.Get("expect")
	if e == "success" {
		return true, ""
	}
	return false, strings.TrimPrefix(e, "error ")
}

// Data returns the body decoded as the "body" header says.
func (v *Vector) Data(t testing.TB) []byte {
	t.Helper()
	switch v.Get("body") {
	case "", "raw":
		return v.Body
	case "text":
		return bytes.TrimSuffix(v.Body, []byte("\n"))
	case "hex":
		b, err := hex.DecodeString(strings.Join(strings.Fields(string(v.Body)), ""))
		if err != nil {
			t.Fatalf("%s: body: %v", v.Name, err)
		}
		return b
	}
	t.Fatalf("%s: unknown body encoding %q", v.Name, v.Get("body"))
	return nil
}

// Marshal writes v in the file format.
func (v *Vector) Marshal() []byte {
	var b bytes.Buffer
	for _, f := range v.Header {
		if strings.ContainsAny(f.Key+f.Value, "\n") || strings.Contains(f.Key, ": ") {
			panic(fmt.Sprintf("vector %s: header %q cannot be written", v.Name, f.Key))
		}
		fmt.Fprintf(&b, "%s: %s\n", f.Key, f.Value)
	}
	b.WriteByte('\n')
	b.Write(v.Body)
	return b.Bytes()
}

// Writer gathers vectors for one folder and writes them, replacing the
// folder's previous vectors, so that a vector dropped from the generator
// does not linger.
type Writer struct {
	sub   string
	files map[string][]byte
}

// NewWriter starts writing testdata/<sub>.
func NewWriter(sub string) *Writer { return &Writer{sub: sub, files: map[string][]byte{}} }

// Add adds a vector. Header fields are given as key, value pairs.
func (w *Writer) Add(name string, body []byte, kv ...string) {
	v := &Vector{Name: name, Body: body}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Header = append(v.Header, Field{kv[i], kv[i+1]})
	}
	w.AddFile(name, v.Marshal())
}

// AddFile adds a file that is not a vector, such as a plaintext a vector
// names.
func (w *Writer) AddFile(name string, b []byte) {
	if _, dup := w.files[name]; dup {
		panic("vectors: two files named " + name)
	}
	w.files[name] = b
}

// Write replaces the folder's files (README.md is kept) with those added.
func (w *Writer) Write(t testing.TB) {
	t.Helper()
	dir := Dir(w.sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range old {
		if _, keep := w.files[e.Name()]; !keep && e.Name() != "README.md" && !e.IsDir() {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	names := make([]string, 0, len(w.files))
	for n := range w.files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), w.files[n], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote %d files to %s", len(names), dir)
}

// HexLines writes b as hexadecimal, 32 bytes a line.
func HexLines(b []byte) []byte {
	var out bytes.Buffer
	for len(b) > 0 {
		n := min(len(b), 32)
		out.WriteString(hex.EncodeToString(b[:n]))
		out.WriteByte('\n')
		b = b[n:]
	}
	return out.Bytes()
}
