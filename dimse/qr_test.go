package dimse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"imageshare/internal/dataset"
	"imageshare/internal/testenv"
)

// qrPeer is a dcmqrscp of a test's own: called QRSCP, its archive filled
// by C-STORE from us, and a move destination IMAGESHARE at destPort.
type qrPeer struct {
	addr  string
	store string   // the archive's folder
	files []string // stored, in order
}

// dcmqrscp starts dcmqrscp on a free loopback port (it listens on every
// interface: it has no option to bind one; TestMain runs the tests in a
// network namespace with only loopback) with a move destination
// IMAGESHARE at 127.0.0.1:destPort, and stores files into it. On the
// associations it opens for a C-MOVE it proposes implicit VR little
// endian only, the syntax of the originals: by default it proposes
// explicit first and converts, dropping the group lengths.
func dcmqrscp(t *testing.T, destPort string, files []string) *qrPeer {
	t.Helper()
	dir := t.TempDir()
	store := filepath.Join(dir, "QRSCP")
	if err := os.Mkdir(store, 0o700); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	cfg := fmt.Sprintf(`NetworkTCPPort  = %s
MaxPDUSize      = 16384
MaxAssociations = 16

HostTable BEGIN
imageshare = (IMAGESHARE, 127.0.0.1, %s)
HostTable END

VendorTable BEGIN
VendorTable END

AETable BEGIN
QRSCP %s RW (10, 1024mb) ANY
AETable END
`, port, destPort, store)
	cfgPath := filepath.Join(dir, "dcmqrscp.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + port
	startServer(t, addr, func(ctx context.Context) error {
		a, err := Dial(ctx, addr, "TESTSCU", "QRSCP", []Context{{AbstractSyntax: Verification, TransferSyntaxes: []string{ImplicitVRLittleEndian}}})
		if err == nil {
			err = a.Echo(ctx)
			a.Release(ctx)
		}
		return err
	}, "dcmqrscp", "-c", cfgPath, "-v", "--propose-implicit", port)
	p := &qrPeer{addr: addr, store: store, files: files}
	if len(files) > 0 {
		storeAll(t, addr, "QRSCP", files)
	}
	return p
}

// storeAll sends files by C-STORE in their own transfer syntaxes.
func storeAll(t *testing.T, addr, called string, files []string) {
	t.Helper()
	ctx := context.Background()
	cs, _ := fileContexts(t, files)
	a, err := Dial(ctx, addr, "TESTSCU", called, cs)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, err := a.StoreFile(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// qrFiles returns the files of the query/retrieve tests: CT and MR, two
// studies.
func qrFiles(t *testing.T) (ct, mr []string) {
	ct = testenv.CTSeries(t, 10)
	dir := filepath.Join(testenv.SharedDICOM(t), "mr-t1-structural", "dicoms")
	ents, err := os.ReadDir(dir)
	if err != nil {
		testenv.Missing(t, "MR series: %v", err)
	}
	for _, e := range ents {
		if len(mr) < 3 {
			mr = append(mr, filepath.Join(dir, e.Name()))
		}
	}
	return ct, mr
}

func findContexts() []Context {
	return []Context{
		{AbstractSyntax: StudyRootFind, TransferSyntaxes: []string{ExplicitVRLittleEndian, ImplicitVRLittleEndian}},
		{AbstractSyntax: StudyRootMove, TransferSyntaxes: []string{ExplicitVRLittleEndian, ImplicitVRLittleEndian}},
	}
}

func TestFindAgainstDcmqrscp(t *testing.T) {
	ct, mr := qrFiles(t)
	peer := dcmqrscp(t, freePort(t), append(append([]string{}, ct...), mr...))
	ctx := context.Background()
	for _, ts := range []string{ExplicitVRLittleEndian, ImplicitVRLittleEndian} {
		t.Run(ts, func(t *testing.T) {
			a, err := Dial(ctx, peer.addr, "TESTSCU", "QRSCP", []Context{{AbstractSyntax: StudyRootFind, TransferSyntaxes: []string{ts}}})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Release(ctx)
			studies, err := a.Find(ctx, &Query{Level: StudyLevel})
			if err != nil {
				t.Fatal(err)
			}
			if len(studies) != 2 {
				t.Fatalf("%d studies, want 2: %+v", len(studies), studies)
			}
			want := map[string]int{}
			for _, f := range append(append([]string{}, ct...), mr...) {
				want[studyUIDOf(t, f)]++
			}
			for _, s := range studies {
				if want[s.StudyInstanceUID] == 0 {
					t.Errorf("study %s not stored", s.StudyInstanceUID)
				}
				byPatient, err := a.Find(ctx, &Query{Level: StudyLevel, PatientID: s.PatientID})
				if err != nil {
					t.Fatal(err)
				}
				if len(byPatient) != 1 || byPatient[0].StudyInstanceUID != s.StudyInstanceUID {
					t.Errorf("C-FIND by PatientID %q: %+v", s.PatientID, byPatient)
				}
				t.Logf("study %+v", byPatient[0])
				if n := byPatient[0].NumberOfStudyRelatedInstances; n != -1 && n != want[s.StudyInstanceUID] {
					t.Errorf("study %s: %d related instances, want %d", s.StudyInstanceUID, n, want[s.StudyInstanceUID])
				}
				series, err := a.Find(ctx, &Query{Level: SeriesLevel, StudyInstanceUID: s.StudyInstanceUID})
				if err != nil {
					t.Fatal(err)
				}
				if len(series) != 1 {
					t.Fatalf("study %s: %d series, want 1: %+v", s.StudyInstanceUID, len(series), series)
				}
				images, err := a.Find(ctx, &Query{Level: ImageLevel, StudyInstanceUID: s.StudyInstanceUID, SeriesInstanceUID: series[0].SeriesInstanceUID})
				if err != nil {
					t.Fatal(err)
				}
				if len(images) != want[s.StudyInstanceUID] {
					t.Errorf("series %s: %d instances, want %d", series[0].SeriesInstanceUID, len(images), want[s.StudyInstanceUID])
				}
				var got []string
				for _, m := range images {
					got = append(got, m.SOPInstanceUID)
				}
				sort.Strings(got)
				var wantUIDs []string
				for _, f := range append(append([]string{}, ct...), mr...) {
					if studyUIDOf(t, f) == s.StudyInstanceUID {
						m, _ := ReadFileMeta(f)
						wantUIDs = append(wantUIDs, m.SOPInstanceUID)
					}
				}
				sort.Strings(wantUIDs)
				if fmt.Sprint(got) != fmt.Sprint(wantUIDs) {
					t.Errorf("series %s: instances %v, want %v", series[0].SeriesInstanceUID, got, wantUIDs)
				}
			}
		})
	}
}

// studyUIDOf reads a file's Study Instance UID.
func studyUIDOf(t *testing.T, path string) string {
	t.Helper()
	ds, m := dataSet(t, path)
	vals, err := parseIdentifierTS(ds, m.TransferSyntaxUID)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return vals[tagStudyInstanceUID]
}

func parseIdentifierTS(b []byte, ts string) (map[dataset.Tag]string, error) {
	return parseIdentifier(b, dataset.SyntaxOf(ts))
}

// moveServer is our C-STORE SCP as the move destination IMAGESHARE,
// taking dcmqrscp's sub-associations.
func moveServer(t *testing.T) (string, string, *recorder) {
	dir := t.TempDir()
	s := &Server{
		AETitle: "IMAGESHARE",
		Allow:   []Allow{{AETitle: "QRSCP", Host: "127.0.0.1"}},
		Policy:  StoragePolicy(),
		Store:   &FileStore{Dir: dir},
	}
	_, port, rec := serve(t, s)
	return dir, port, rec
}

// archived returns the files of dcmqrscp's archive by SOP Instance UID.
// dcmqrscp does not store a data set quite as received: it drops the
// group length elements (gggg,0000).
func (p *qrPeer) archived(t *testing.T) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(p.store)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range ents {
		if e.Name() == "index.dat" {
			continue
		}
		path := filepath.Join(p.store, e.Name())
		fm, err := ReadFileMeta(path)
		if err != nil {
			t.Fatal(err)
		}
		m[fm.SOPInstanceUID] = path
	}
	return m
}

// checkRetrieved checks that each of files is in dir, its data set byte
// for byte the one in the archive, in the same transfer syntax.
func checkRetrieved(t *testing.T, peer *qrPeer, dir string, files []string) {
	t.Helper()
	archive := peer.archived(t)
	for _, p := range files {
		_, om := dataSet(t, p)
		stored, ok := archive[om.SOPInstanceUID]
		if !ok {
			t.Fatalf("%s: not in dcmqrscp's archive", filepath.Base(p))
		}
		want, wm := dataSet(t, stored)
		got, gm := dataSet(t, filepath.Join(dir, om.SOPInstanceUID+".dcm"))
		if gm.TransferSyntaxUID != wm.TransferSyntaxUID || !bytes.Equal(got, want) {
			t.Errorf("%s: data set retrieved (%d bytes, %s) differs from the archive's (%d bytes, %s)", filepath.Base(p), len(got), gm.TransferSyntaxUID, len(want), wm.TransferSyntaxUID)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != len(files) {
		t.Errorf("%d files in %s, want %d", len(ents), dir, len(files))
	}
}

func TestMoveFromDcmqrscp(t *testing.T) {
	ct, mr := qrFiles(t)
	dir, destPort, rec := moveServer(t)
	peer := dcmqrscp(t, destPort, append(append([]string{}, ct...), mr...))
	ctx := context.Background()
	a, err := Dial(ctx, peer.addr, "TESTSCU", "QRSCP", findContexts())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release(ctx)

	// The CT study, at study level.
	var progress []*RetrieveProgress
	ops, err := a.Move(ctx, &Retrieve{Level: StudyLevel, StudyInstanceUID: studyUIDOf(t, ct[0])}, "IMAGESHARE", func(p *RetrieveProgress) {
		progress = append(progress, p)
	})
	if err != nil {
		t.Fatal(err)
	}
	if ops.Completed != uint16(len(ct)) || ops.Failed != 0 {
		t.Errorf("C-MOVE of the CT study: %+v, want %d completed", ops, len(ct))
	}
	if len(progress) == 0 || progress[0].Remaining+progress[0].Completed+progress[0].Failed+progress[0].Warning != uint16(len(ct)) {
		t.Errorf("C-MOVE progress: %+v", progress)
	}
	for _, p := range progress {
		t.Logf("%s %+v", p.EventType(), *p)
	}
	rec.waitFor(t, len(ct), "stored", func(e Event) bool { _, ok := e.(*InstanceStored); return ok })
	checkRetrieved(t, peer, dir, ct)

	// The MR series, at series level.
	ids, err := a.Find(ctx, &Query{Level: SeriesLevel, StudyInstanceUID: studyUIDOf(t, mr[0])})
	if err != nil || len(ids) != 1 {
		t.Fatalf("C-FIND of the MR series: %v %+v", err, ids)
	}
	ops, err = a.Move(ctx, &Retrieve{Level: SeriesLevel, StudyInstanceUID: studyUIDOf(t, mr[0]), SeriesInstanceUID: ids[0].SeriesInstanceUID}, "IMAGESHARE", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ops.Completed != uint16(len(mr)) {
		t.Errorf("C-MOVE of the MR series: %+v, want %d completed", ops, len(mr))
	}
	rec.waitFor(t, len(ct)+len(mr), "stored", func(e Event) bool { _, ok := e.(*InstanceStored); return ok })
	checkRetrieved(t, peer, dir, append(append([]string{}, ct...), mr...))

	// A destination dcmqrscp does not know.
	_, err = a.Move(ctx, &Retrieve{Level: StudyLevel, StudyInstanceUID: studyUIDOf(t, ct[0])}, "NOWHERE", nil)
	var re *RetrieveError
	if !errors.As(err, &re) || re.Err.Status != StatusMoveDestUnknown || !strings.Contains(err.Error(), "NOWHERE") {
		t.Errorf("C-MOVE to NOWHERE: %v, want status A801 naming it", err)
	} else {
		t.Log(err)
	}
	// The association goes on.
	if _, err := a.Find(ctx, &Query{Level: StudyLevel}); err != nil {
		t.Errorf("C-FIND after the failed C-MOVE: %v", err)
	}
}

func TestGetFromDcmqrscp(t *testing.T) {
	ct, mr := qrFiles(t)
	peer := dcmqrscp(t, freePort(t), append(append([]string{}, ct...), mr...))
	ctx := context.Background()
	var classes []string
	for _, f := range []string{ct[0], mr[0]} {
		m, err := ReadFileMeta(f)
		if err != nil {
			t.Fatal(err)
		}
		classes = append(classes, m.SOPClassUID)
	}
	// The originals' syntax first: dcmqrscp sends on the context it
	// finds for the SOP class, converting to its syntax.
	cs, roles := GetContexts(classes, ImplicitVRLittleEndian)
	d := &Dialer{CallingAE: "TESTSCU", CalledAE: "QRSCP", Contexts: cs, Roles: roles}
	a, err := d.Dial(ctx, peer.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release(ctx)
	dir := t.TempDir()
	rec := newRecorder()
	var progress []*RetrieveProgress
	ops, err := a.Get(ctx, &Retrieve{Level: StudyLevel, StudyInstanceUID: studyUIDOf(t, ct[0])}, &FileStore{Dir: dir}, rec.add, func(p *RetrieveProgress) {
		progress = append(progress, p)
	})
	if err != nil {
		t.Fatal(err)
	}
	if ops.Completed != uint16(len(ct)) || ops.Failed != 0 {
		t.Errorf("C-GET of the CT study: %+v, want %d completed", ops, len(ct))
	}
	if len(progress) == 0 {
		t.Errorf("C-GET: no progress")
	}
	rec.waitFor(t, len(ct), "stored", func(e Event) bool {
		ev, ok := e.(*InstanceStored)
		return ok && ev.CallingAE == "QRSCP"
	})
	checkRetrieved(t, peer, dir, ct)

	ops, err = a.Get(ctx, &Retrieve{Level: StudyLevel, StudyInstanceUID: studyUIDOf(t, mr[0])}, &FileStore{Dir: dir}, nil, nil)
	if err != nil || ops.Completed != uint16(len(mr)) {
		t.Fatalf("C-GET of the MR study: %+v, %v", ops, err)
	}
	checkRetrieved(t, peer, dir, append(append([]string{}, ct...), mr...))
}

func TestGetWithoutSCPRole(t *testing.T) {
	peer := dcmqrscp(t, freePort(t), nil)
	ctx := context.Background()
	cs, _ := GetContexts([]string{"1.2.840.10008.5.1.4.1.1.2"})
	a, err := Dial(ctx, peer.addr, "TESTSCU", "QRSCP", cs)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release(ctx)
	if _, err := a.Get(ctx, &Retrieve{Level: StudyLevel, StudyInstanceUID: "1.2.3"}, &FileStore{Dir: t.TempDir()}, nil, nil); !errors.Is(err, ErrNoSCPRole) {
		t.Errorf("C-GET without the SCP role: %v, want ErrNoSCPRole", err)
	}
}

// cancelAfter is a StoreHandler that cancels a context once it has
// stored n instances.
type cancelAfter struct {
	FileStore
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) HandleStore(ctx context.Context, req *StoreRequest, data io.Reader) (string, error) {
	p, err := c.FileStore.HandleStore(ctx, req, data)
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return p, err
}

func TestGetCancelled(t *testing.T) {
	ct, _ := qrFiles(t)
	peer := dcmqrscp(t, freePort(t), ct)
	m, err := ReadFileMeta(ct[0])
	if err != nil {
		t.Fatal(err)
	}
	cs, roles := GetContexts([]string{m.SOPClassUID}, ImplicitVRLittleEndian)
	d := &Dialer{CallingAE: "TESTSCU", CalledAE: "QRSCP", Contexts: append(cs, findContexts()...), Roles: roles}
	a, err := d.Dial(context.Background(), peer.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &cancelAfter{FileStore: FileStore{Dir: t.TempDir()}, n: 2, cancel: cancel}
	ops, err := a.Get(ctx, &Retrieve{Level: StudyLevel, StudyInstanceUID: studyUIDOf(t, ct[0])}, h, nil, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("C-GET cancelled after 2 instances: %+v, %v; want context.Canceled", ops, err)
	}
	t.Logf("cancelled: %+v, %v", ops, err)
	if int(ops.Completed) >= len(ct) {
		t.Errorf("C-GET cancelled after 2 instances: %+v, all completed", ops)
	}
	// The C-CANCEL ended the C-GET, not the association.
	if _, err := a.Find(context.Background(), &Query{Level: StudyLevel}); err != nil {
		t.Errorf("C-FIND after the cancelled C-GET: %v", err)
	}
}

func TestFindCancelled(t *testing.T) {
	ct, mr := qrFiles(t)
	peer := dcmqrscp(t, freePort(t), append(append([]string{}, ct...), mr...))
	a, err := Dial(context.Background(), peer.addr, "TESTSCU", "QRSCP", findContexts())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	err = a.FindEach(ctx, &Query{Level: ImageLevel, StudyInstanceUID: studyUIDOf(t, ct[0]), SeriesInstanceUID: seriesUIDOf(t, ct[0])}, func(Match) error {
		n++
		cancel()
		return nil
	})
	// dcmqrscp may have sent every response before the C-CANCEL-RQ
	// came, or before it was sent: the final status then is 0000, not
	// FE00, and the matches are complete.
	switch {
	case errors.Is(err, context.Canceled) && n < len(ct):
	case err == nil && n == len(ct):
	default:
		t.Fatalf("C-FIND cancelled at the first match: %v after %d matches", err, n)
	}
	t.Logf("%d matches: %v", n, err)
	if _, err := a.Find(context.Background(), &Query{Level: StudyLevel}); err != nil {
		t.Errorf("C-FIND after the cancelled one: %v", err)
	}
}

// seriesUIDOf reads a file's Series Instance UID.
func seriesUIDOf(t *testing.T, path string) string {
	t.Helper()
	ds, m := dataSet(t, path)
	vals, err := parseIdentifierTS(ds, m.TransferSyntaxUID)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return vals[tagSeriesInstanceUID]
}
