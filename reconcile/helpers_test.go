package reconcile

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"imageshare/internal/testenv"
)

// tool returns the path of a dcmtk program.
func tool(t testing.TB, name string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		testenv.Missing(t, "%s (dcmtk) is not installed: %v", name, err)
	}
	return bin
}

// run runs a program and returns its stdout and stderr, failing the test
// if it exits with an error.
func run(t testing.TB, name string, args ...string) (stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(tool(t, name), args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, e.String())
	}
	return o.String(), e.String()
}

// dump is a data set as dcmdump prints it.
type dump struct {
	tag, vr, value string  // tag as "0010,0020"; value as printed, "" if empty
	kids           []*dump // items of a sequence, elements of an item
}

// get returns the element with tag in d, or nil.
func (d *dump) get(tag string) *dump {
	for _, k := range d.kids {
		if k.tag == tag {
			return k
		}
	}
	return nil
}

// value returns the value of the element with tag in d, and whether it is
// there.
func (d *dump) text(tag string) (string, bool) {
	if k := d.get(tag); k != nil {
		return k.value, true
	}
	return "", false
}

// dcmdump dumps a file with dcmtk and parses the data set. It fails the
// test if dcmdump fails; its warnings are returned, with the file's name
// replaced by FILE.
func dcmdump(t testing.TB, file string, args ...string) (*dump, string) {
	t.Helper()
	out, stderr := run(t, "dcmdump", append(append([]string{"+L"}, args...), file)...)
	return parseDump(t, out), strings.ReplaceAll(stderr, file, "FILE")
}

func parseDump(t testing.TB, out string) *dump {
	t.Helper()
	root := &dump{}
	stack := []*dump{root} // stack[i] holds the nodes at depth i
	inData := false
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# Dicom-Data-Set") {
			inData = true
			continue
		}
		// "    (0010,0020) LO [MRN1]    #   4, 1 PatientID": two spaces a
		// level, the tag, the VR, the value, and after the last " #" its
		// length and name.
		indent := len(line) - len(strings.TrimLeft(line, " "))
		rest := line[indent:]
		end := strings.LastIndex(rest, " #")
		if !inData || len(rest) < 15 || rest[0] != '(' || rest[10] != ')' || end < 14 {
			continue
		}
		depth := indent / 2
		tag := rest[1:10]
		if tag == "fffe,e00d" || tag == "fffe,e0dd" {
			continue
		}
		if depth+1 > len(stack) {
			t.Fatalf("dcmdump line nested deeper than its parent: %q", line)
		}
		stack = stack[:depth+1]
		n := &dump{tag: tag, vr: rest[12:14]}
		v := strings.TrimRight(rest[15:end], " ")
		if strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
			n.value = v[1 : len(v)-1]
		} else if !strings.HasPrefix(v, "(no value") {
			n.value = v
		}
		parent := stack[depth]
		parent.kids = append(parent.kids, n)
		stack = append(stack, n)
	}
	return root
}
