package receive

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"imageshare/audit"
	"imageshare/e2e/orthanc"
)

// impEvents collects an import's events.
type impEvents struct{ got []ImportEvent }

func (e *impEvents) add(ev ImportEvent) { e.got = append(e.got, ev) }

// types are the events' types, a run of progress events as one.
func (e *impEvents) types() []string {
	var out []string
	for _, ev := range e.got {
		if t := ev.EventType(); len(out) == 0 || out[len(out)-1] != t {
			out = append(out, t)
		}
	}
	return out
}

// last returns the last event, which must be Imported.
func (e *impEvents) last(t *testing.T) *Imported {
	t.Helper()
	if len(e.got) == 0 {
		t.Fatal("no events")
	}
	imp, ok := e.got[len(e.got)-1].(*Imported)
	if !ok {
		t.Fatalf("last event %T, want *Imported", e.got[len(e.got)-1])
	}
	return imp
}

// impFolder is a fetched study folder in out: 4 images, a text report,
// its record.
func impFolder(t *testing.T, out string) *ImportInput {
	t.Helper()
	dir := filepath.Join(out, "study-0a1b2c3d")
	m := impStudy(t, dir, 4, 3)
	if err := NewRecord(m).Write(dir); err != nil {
		t.Fatal(err)
	}
	in, err := FolderInput(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// The import into a real PACS (Orthanc, in a namespace of the test's
// own): reconciled copies and the report stored, each found again by
// QIDO-RS under the local patient ID; the folder unchanged and no copy
// left behind; the events in order; the import recorded in the trail. A
// PACS that refuses one instance and drops another: both listed, the
// rest stored, ErrImportPartial.
func TestImportIntoOrthanc(t *testing.T) {
	ns := orthanc.NewNamespace(t)
	out := t.TempDir()
	in := impFolder(t, out)
	refused, dropped := in.Files[1].SOPInstanceUID, in.Files[2].SOPInstanceUID
	good := ns.Start(t, orthanc.Name("PACS_B"))
	bad := ns.Start(t, orthanc.Name("PACS_C"), orthanc.RejectInstances(refused), orthanc.DropInstances(dropped))
	before := impSnapshot(t, in.Dir)
	local := Local{PatientID: "MRN0200", Issuer: "TRAUMA CENTER", Name: "TRAUMA, ALPHA"}
	trailPath := filepath.Join(t.TempDir(), "audit.jsonl")
	trail, err := audit.OpenTrail("receiver", trailPath, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	opts := ImportOptions{URL: good.DICOMwebURL, Changes: local.Changes(), HTTPClient: ns.HTTPClient(),
		Trail: trail, Station: audit.Local("receiver", "")}

	var ev impEvents
	res, err := Import(t.Context(), opts, in, ev.add)
	if err != nil {
		t.Fatalf("import: %v (events %v)", err, ev.types())
	}
	if res.Stored != len(in.Files)+1 || len(res.Failed) != 0 || res.Report != "Basic Text SR" {
		t.Fatalf("result %+v, want %d stored, the report as Basic Text SR", res, len(in.Files)+1)
	}
	want := []string{"pacs_reconciling", "pacs_storing", "pacs_progress", "pacs"}
	if got := ev.types(); !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	if r, ok := ev.got[0].(*Reconciling); !ok || !strings.Contains(r.Changes, `"MRN0200"`) || !strings.Contains(r.Changes, `"TRAUMA^ALPHA"`) {
		t.Errorf("first event %+v, want the changes", ev.got[0])
	}
	if p := ev.got[len(ev.got)-2].(*PACSProgress); p.Settled != p.Total || p.Total != len(in.Files)+1 {
		t.Errorf("last progress %+v, want all %d settled", p, len(in.Files)+1)
	}
	done := ev.last(t)
	if done.URL != good.DICOMwebURL || done.Stored != res.Stored || !done.Reconciled || done.Dir != in.Dir || done.Failed != nil {
		t.Errorf("Imported %+v", done)
	}
	if n := len(good.Instances(t, in.Studies[0].StudyUID)); n != len(in.Files)+1 {
		t.Errorf("the PACS holds %d instances of the study, want %d", n, len(in.Files)+1)
	}
	if after := impSnapshot(t, in.Dir); !slices.Equal(before, after) {
		t.Errorf("the folder changed:\n%v\n%v", before, after)
	}
	work, err := os.ReadDir(filepath.Join(out, ".imageshare"))
	if err != nil || len(work) != 0 {
		t.Errorf("the work area holds %v, %v; want it empty", work, err)
	}

	// The PACS that refuses one and drops one.
	opts.URL = bad.DICOMwebURL
	ev = impEvents{}
	res, err = Import(t.Context(), opts, in, ev.add)
	if !errors.Is(err, ErrImportPartial) || !strings.Contains(err.Error(), "2 of 5") {
		t.Fatalf("import into the refusing PACS: %v, want ErrImportPartial, 2 of 5", err)
	}
	if res == nil || res.Stored != len(in.Files)-1 || len(res.Failed) != 2 {
		t.Fatalf("result %+v, want %d stored and 2 failed", res, len(in.Files)-1)
	}
	reasons := map[string]string{}
	for _, f := range res.Failed {
		reasons[f.SOP] = f.Reason
		if f.File == "" {
			t.Errorf("failure %+v names no file", f)
		}
	}
	if !strings.Contains(reasons[dropped], "does not list it") {
		t.Errorf("the dropped instance: %q", reasons[dropped])
	}
	if r, ok := reasons[refused]; !ok || strings.Contains(r, "does not list it") {
		t.Errorf("the refused instance: %q, want the PACS's refusal", r)
	}
	if done := ev.last(t); len(done.Failed) != 2 || done.Stored != res.Stored {
		t.Errorf("Imported %+v", done)
	}

	trail.Close()
	log, err := os.ReadFile(trailPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), bad.DICOMwebURL); n == 0 || !strings.Contains(string(log), "MRN0200") {
		t.Errorf("the trail does not record the imports under the local ID:\n%s", log)
	}
}

// impSnapshot lists the files of dir with their modes, hashes and times.
func impSnapshot(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("%s %v %x %v", path, fi.Mode(), sha256.Sum256(b), fi.ModTime()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
