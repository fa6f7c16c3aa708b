package dimse

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"imageshare/internal/testenv"
)

// storeServer is the C-STORE SCP of these tests: IMAGESHARE, taking
// TESTSCU from loopback, storing into a folder of the test's own.
func storeServer(t *testing.T) (*Server, string) {
	dir := t.TempDir()
	return &Server{
		AETitle: "IMAGESHARE",
		Allow:   []Allow{{AETitle: "TESTSCU", Host: "127.0.0.1"}, {AETitle: "STORESCU"}},
		Policy:  StoragePolicy(),
		Store:   &FileStore{Dir: dir},
	}, dir
}

func TestEchoscuToServer(t *testing.T) {
	s, _ := storeServer(t)
	_, port, rec := serve(t, s)
	if out, err := run(t, "echoscu", "-aet", "TESTSCU", "-aec", "IMAGESHARE", "127.0.0.1", port); err != nil {
		t.Fatalf("echoscu: %v\n%s", err, out)
	}
	rec.waitFor(t, 1, "echoed", func(e Event) bool {
		ev, ok := e.(*Echoed)
		return ok && ev.CallingAE == "TESTSCU"
	})
	rec.waitFor(t, 1, "released", func(e Event) bool { _, ok := e.(*AssociationReleased); return ok })
}

func TestUnknownCallerRejected(t *testing.T) {
	s, _ := storeServer(t)
	s.Allow = append(s.Allow, Allow{AETitle: "REMOTE", Host: "192.0.2.7"}, Allow{AETitle: "LOCAL", Host: "localhost"})
	_, port, rec := serve(t, s)
	out, err := run(t, "echoscu", "-aet", "WRONG", "-aec", "IMAGESHARE", "127.0.0.1", port)
	if err == nil {
		t.Fatalf("echoscu -aet WRONG succeeded:\n%s", out)
	}
	if !strings.Contains(string(out), "Calling AE Title Not Recognized") {
		t.Errorf("echoscu -aet WRONG: %v, without the reason:\n%s", err, out)
	}
	rec.waitFor(t, 1, "rejected", func(e Event) bool {
		ev, ok := e.(*AssociationRejected)
		return ok && ev.CallingAE == "WRONG" && ev.Addr != "" && strings.Contains(ev.Reason, "calling AE title")
	})
	// The wrong called AE title, from an allowed caller.
	if out, err := run(t, "echoscu", "-aet", "TESTSCU", "-aec", "OTHER", "127.0.0.1", port); err == nil {
		t.Fatalf("echoscu -aec OTHER succeeded:\n%s", out)
	}
	// An allowed AE title from a host not allowed for it.
	if out, err := run(t, "echoscu", "-aet", "REMOTE", "-aec", "IMAGESHARE", "127.0.0.1", port); err == nil {
		t.Fatalf("echoscu -aet REMOTE from 127.0.0.1 succeeded:\n%s", out)
	}
	// A host given by name.
	if out, err := run(t, "echoscu", "-aet", "LOCAL", "-aec", "IMAGESHARE", "127.0.0.1", port); err != nil {
		t.Fatalf("echoscu -aet LOCAL (allowed from localhost): %v\n%s", err, out)
	}
	// The right ones still work.
	if out, err := run(t, "echoscu", "-aet", "TESTSCU", "-aec", "IMAGESHARE", "127.0.0.1", port); err != nil {
		t.Fatalf("echoscu: %v\n%s", err, out)
	}
}

func TestConcurrentAssociations(t *testing.T) {
	s, _ := storeServer(t)
	_, port, rec := serve(t, s)
	const n = 4
	errs := make(chan error, n)
	for range n {
		go func() {
			out, err := run(t, "echoscu", "-aet", "TESTSCU", "-aec", "IMAGESHARE", "--repeat", "5", "127.0.0.1", port)
			if err != nil {
				err = fmt.Errorf("%w\n%s", err, out)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	rec.waitFor(t, n, "released", func(e Event) bool { _, ok := e.(*AssociationReleased); return ok })
}

func TestEchoToStorescp(t *testing.T) {
	addr := storescp(t, t.TempDir())
	d := &Dialer{CallingAE: "IMAGESHARE", CalledAE: "STORESCP", Contexts: []Context{{AbstractSyntax: Verification, TransferSyntaxes: []string{ExplicitVRLittleEndian, ImplicitVRLittleEndian}}}}
	ctx := context.Background()
	a, err := d.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	if uid, _ := a.PeerImplementation(); uid == "" {
		t.Errorf("storescp's implementation class UID not read")
	}
	for range 3 {
		if err := a.Echo(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// checkReceived checks that each of sent arrived in dir as a file whose
// data set is byte for byte the original's, with a file meta header that
// says what the association did, and that dcmdump reads.
func checkReceived(t *testing.T, dir string, sent []string, sourceAE string) {
	t.Helper()
	for _, p := range sent {
		want, wm := dataSet(t, p)
		name := filepath.Join(dir, wm.SOPInstanceUID+".dcm")
		got, gm := dataSet(t, name)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: data set received (%d bytes) differs from the original's (%d bytes)", filepath.Base(p), len(got), len(want))
		}
		if gm.SOPClassUID != wm.SOPClassUID || gm.SOPInstanceUID != wm.SOPInstanceUID || gm.TransferSyntaxUID != wm.TransferSyntaxUID {
			t.Errorf("%s: meta %+v, want %+v", filepath.Base(p), gm, wm)
		}
		out, err := run(t, "dcmdump", "-M", "+L", name)
		if err != nil {
			t.Errorf("dcmdump %s: %v\n%s", name, err, out)
			continue
		}
		for _, want := range []string{
			"(0002,0001) OB 00\\01",
			"(0002,0010) UI =",
			"(0002,0012) UI [" + ImplementationClassUID + "]",
			"(0002,0013) SH [" + ImplementationVersionName + "]",
			"(0002,0016) AE [" + sourceAE + "]",
		} {
			if !bytes.Contains(out, []byte(want)) {
				t.Errorf("dcmdump %s: no %q in:\n%s", filepath.Base(p), want, out)
			}
		}
		fi, err := os.Stat(name)
		if err == nil && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	// Nothing but the files: no temporary file left.
	ents, _ := os.ReadDir(dir)
	if len(ents) != len(sent) {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("%d files in %s, want %d: %v", len(ents), dir, len(sent), names)
	}
}

func TestStorescuPushesCTSeries(t *testing.T) {
	pushFromStorescu(t, testenv.CTSeries(t, 20))
}

// pushFromStorescu has storescu push files to the server, and to
// storescp +B, which writes them bit for bit as they arrived: storescu
// re-encodes some data sets as it sends them (sequences and items of
// undefined length get explicit lengths; a deflated data set is deflated
// again), so what arrived is compared with storescp's copy, and with the
// original wherever storescu sent that.
func pushFromStorescu(t *testing.T, files []string) {
	cfg := storescuConfig(t, files)
	s, dir := storeServer(t)
	_, port, rec := serve(t, s)
	out, err := run(t, "storescu", append([]string{"-xf", cfg, "Own", "-aet", "TESTSCU", "-aec", "IMAGESHARE", "127.0.0.1", port}, files...)...)
	if err != nil {
		t.Fatalf("storescu: %v\n%s", err, out)
	}
	rec.waitFor(t, len(files), "stored", func(e Event) bool { _, ok := e.(*InstanceStored); return ok })

	refDir := t.TempDir()
	ref := storescp(t, refDir, "-xf", storescpConfig(t, files), "Own", "+B")
	host, refPort, _ := net.SplitHostPort(ref)
	out, err = run(t, "storescu", append([]string{"-xf", cfg, "Own", "-aet", "TESTSCU", "-aec", "STORESCP", host, refPort}, files...)...)
	if err != nil {
		t.Fatalf("storescu to storescp: %v\n%s", err, out)
	}
	var sent []string
	identical := 0
	for _, f := range files {
		_, m := dataSet(t, f)
		p := storedBy(t, refDir, m.SOPInstanceUID)
		sent = append(sent, p)
		a, _ := dataSet(t, f)
		b, _ := dataSet(t, p)
		if bytes.Equal(a, b) {
			identical++
		}
	}
	t.Logf("storescu sent %d of %d data sets as they are in their files; storescp +B's copies are the reference", identical, len(files))
	checkReceived(t, dir, sent, "TESTSCU")
}

// storedBy returns the file storescp wrote for instance uid: its name is
// a modality prefix, a dot and the UID.
func storedBy(t *testing.T, dir, uid string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if _, rest, _ := strings.Cut(e.Name(), "."); rest == uid {
			return filepath.Join(dir, e.Name())
		}
	}
	t.Fatalf("storescp wrote no file for %s in %s", uid, dir)
	return ""
}

// zooFiles are format-zoo files in the transfer syntaxes a PACS sends.
var zooFiles = []string{
	"dcm_qa_ts/In/1.dcm",             // explicit VR little endian
	"dcm_qa_ts/In/2.dcm",             // implicit VR little endian
	"dcm_qa_ts/In/3.dcm",             // explicit VR big endian
	"dcm_qa_ts/In/4.dcm",             // RLE
	"dcm_qa_ts/In/5.dcm",             // JPEG lossless SV1
	"dcm_qa_ts/In/7.dcm",             // JPEG-LS lossless
	"dcm_qa_ts/In/9.dcm",             // JPEG 2000 lossless
	"pydicom-data/data/MR2_J2KI.dcm", // JPEG 2000
	"cornerstone-dicomParser/testImages/encapsulated/multi-frame/CT0012.fragmented_no_bot_jpeg_ls.81.dcm",        // JPEG-LS near-lossless
	"pydicom-data/data/OBXXXX1A_rle_2frame.dcm",                                                                  // RLE, multi-frame
	"cornerstone-dicomParser/testImages/encapsulated/multi-frame/CT0012.fragmented_no_bot_jpeg_baseline.51.dcm",  // JPEG extended
	"cornerstone-dicomParser/testImages/encapsulated/multi-frame/CT0012.fragmented_no_bot_jpeg_lossless.57.dcm",  // JPEG lossless
	"cornerstone-dicomParser/testImages/encapsulated/multi-frame/IM00001.fragmented_no_bot_jpeg_baseline.50.dcm", // JPEG baseline
	"cornerstone-dicomParser/testImages/deflate/report_dfl",                                                      // deflated explicit VR little endian
	"pydicom-data/data/emri_small_big_endian.dcm",                                                                // big endian, enhanced MR
}

func TestStorescuPushesFormatZoo(t *testing.T) {
	// Left to itself, storescu proposes the uncompressed syntaxes only
	// and converts to explicit VR little endian what it can: its
	// configuration proposes each file's own syntax instead, as a PACS
	// sends what it holds.
	pushFromStorescu(t, zoo(t, zooFiles...))
}

func TestStoreToStorescp(t *testing.T) {
	files := append(testenv.CTSeries(t, 10), zoo(t, zooFiles...)...)
	dir := t.TempDir()
	addr := storescp(t, dir, "-xf", storescpConfig(t, files), "Own", "+B")
	cs, metas := fileContexts(t, files)
	d := &Dialer{CallingAE: "IMAGESHARE", CalledAE: "STORESCP", Contexts: cs, MaxPDU: 16384}
	ctx := context.Background()
	a, err := d.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		st, err := a.StoreFile(ctx, f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if st != StatusSuccess {
			t.Errorf("%s: status %04X", f, st)
		}
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	// storescp +B writes data sets as they arrived.
	for i, f := range files {
		want, _ := dataSet(t, f)
		got, gm := dataSet(t, storedBy(t, dir, metas[i].SOPInstanceUID))
		if !bytes.Equal(got, want) {
			t.Errorf("%s: data set stored by storescp (%d bytes) differs from the original's (%d bytes)", filepath.Base(f), len(got), len(want))
		}
		if gm.TransferSyntaxUID != metas[i].TransferSyntaxUID {
			t.Errorf("%s: stored in %s, not its own %s", filepath.Base(f), gm.TransferSyntaxUID, metas[i].TransferSyntaxUID)
		}
	}
}
