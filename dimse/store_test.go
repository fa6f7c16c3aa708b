package dimse

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

const ctImage = "1.2.840.10008.5.1.4.1.1.2"

func dialStore(t *testing.T, addr string) *Assoc {
	t.Helper()
	d := &Dialer{CallingAE: "TESTSCU", CalledAE: "IMAGESHARE", MaxPDU: MinMaxPDU, Contexts: []Context{
		{AbstractSyntax: ctImage, TransferSyntaxes: []string{ExplicitVRLittleEndian}},
		{AbstractSyntax: "1.2.3.4", TransferSyntaxes: []string{ExplicitVRLittleEndian}},
		{AbstractSyntax: ctImage, TransferSyntaxes: []string{"1.2.840.10008.1.2.4.100"}}, // MPEG2: not accepted
	}}
	a, err := d.Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(a.Contexts()); n != 1 {
		t.Fatalf("%d contexts accepted, want 1 (CT in explicit VR little endian)", n)
	}
	return a
}

// minimal is a small explicit VR little endian data set.
func minimal() []byte {
	var b []byte
	b = appendText(b, 0x0008, 0x0016, "UI", ctImage)
	b = appendText(b, 0x0008, 0x0018, "UI", "1.2.3.4.5")
	b = appendText(b, 0x0010, 0x0010, "PN", "TEST^PATIENT")
	return b
}

func appendText(b []byte, g, e uint16, vr, s string) []byte {
	if len(s)%2 == 1 {
		if vr == "UI" {
			s += "\x00"
		} else {
			s += " "
		}
	}
	b = append(b, byte(g), byte(g>>8), byte(e), byte(e>>8), vr[0], vr[1], byte(len(s)), byte(len(s)>>8))
	return append(b, s...)
}

func TestStoreStatuses(t *testing.T) {
	s, dir := storeServer(t)
	addr, _, rec := serve(t, s)
	ctx := context.Background()
	a := dialStore(t, addr)
	defer a.Release(ctx)

	st, err := a.Store(ctx, ctImage, "1.2.3.4.5", ExplicitVRLittleEndian, bytes.NewReader(minimal()))
	if err != nil || st != StatusSuccess {
		t.Fatalf("good instance: %04X %v", st, err)
	}
	got, m := dataSet(t, filepath.Join(dir, "1.2.3.4.5.dcm"))
	if !bytes.Equal(got, minimal()) || m.TransferSyntaxUID != ExplicitVRLittleEndian {
		t.Errorf("stored %q in %s", got, m.TransferSyntaxUID)
	}

	var se *StatusError
	for _, tc := range []struct {
		name, uid string
		data      []byte
		status    uint16
	}{
		{"not a UID", "1.2.03", minimal(), StatusCannotUnderstand},
		{"path in the UID", "../1", minimal(), StatusCannotUnderstand},
		{"not a data set", "1.2.6", []byte("%PDF-1.4 not DICOM at all"), StatusCannotUnderstand},
		{"meta group as a data set", "1.2.7", appendText(nil, 0x0002, 0x0010, "UI", ExplicitVRLittleEndian), StatusCannotUnderstand},
		{"empty", "1.2.8", nil, StatusCannotUnderstand},
	} {
		st, err := a.Store(ctx, ctImage, tc.uid, ExplicitVRLittleEndian, bytes.NewReader(tc.data))
		if !errors.As(err, &se) || st != tc.status {
			t.Errorf("%s: %04X %v, want status %04X", tc.name, st, err, tc.status)
		}
	}
	// The association goes on after failures.
	if st, err := a.Store(ctx, ctImage, "1.2.10", ExplicitVRLittleEndian, bytes.NewReader(minimal())); err != nil || st != StatusSuccess {
		t.Errorf("after failures: %04X %v", st, err)
	}
	rec.waitFor(t, 5, "store failed", func(e Event) bool { _, ok := e.(*StoreFailed); return ok })
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("%d entries in the store, want the two good files", len(ents))
	}

	// A folder that cannot be written: out of resources, nothing left.
	s2, _ := storeServer(t)
	s2.Store = &FileStore{Dir: filepath.Join(dir, "missing")}
	addr2, _, rec2 := serve(t, s2)
	a2 := dialStore(t, addr2)
	defer a2.Release(ctx)
	if st, err := a2.Store(ctx, ctImage, "1.2.9", ExplicitVRLittleEndian, bytes.NewReader(minimal())); !errors.As(err, &se) || st != StatusOutOfResources {
		t.Errorf("unwritable folder: %04X %v, want A700", st, err)
	}
	rec2.waitFor(t, 1, "store failed", func(e Event) bool { ev, ok := e.(*StoreFailed); return ok && ev.Status == StatusOutOfResources })
}

// failingReader gives n bytes, then fails.
type failingReader struct{ n int }

func (r *failingReader) Read(b []byte) (int, error) {
	if r.n == 0 {
		return 0, errors.New("disk read error")
	}
	k := min(len(b), r.n)
	copy(b, minimal())
	r.n -= k
	return k, nil
}

func TestStoreAbortedMidDataSet(t *testing.T) {
	s, dir := storeServer(t)
	addr, _, rec := serve(t, s)
	a := dialStore(t, addr)
	// Several PDUs of data set, then the sender's file fails: the SCU
	// aborts, and the SCP keeps no file.
	_, err := a.Store(context.Background(), ctImage, "1.2.3.4.5", ExplicitVRLittleEndian, io.MultiReader(bytes.NewReader(minimal()), &failingReader{n: 10 * MinMaxPDU}))
	if err == nil {
		t.Fatal("store of a failing file succeeded")
	}
	rec.waitFor(t, 1, "aborted by the peer", func(e Event) bool {
		ev, ok := e.(*AssociationAborted)
		return ok && ev.ByPeer
	})
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("%d entries left in the store after an abort", len(ents))
	}
}

func TestStoreCancelled(t *testing.T) {
	s, _ := storeServer(t)
	addr, _, _ := serve(t, s)
	a := dialStore(t, addr)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.Store(ctx, ctImage, "1.2.3", ExplicitVRLittleEndian, bytes.NewReader(minimal())); !errors.Is(err, context.Canceled) {
		t.Fatalf("store with a cancelled context: %v", err)
	}
	a.Abort()
}
