package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"imageshare/dicomweb"
	"imageshare/e2e/orthanc"
	"imageshare/study"
	"imageshare/synthetic"
)

// The hospitals' PACSes are real Orthanc servers with the DICOMweb plugin,
// in a network namespace of the test's own with only loopback (Orthanc
// listens on every interface whatever its configuration). The sender and
// receiver run in the same namespace. The tests need root (CI is root).

// pacsRun is one command's run in the PACS namespace: its JSON Lines, its
// exit code, and its standard error.
type pacsRun struct {
	lines  []map[string]any
	code   int
	stderr string
}

// line returns the last JSON line of type typ, or nil.
func (r *pacsRun) line(typ string) map[string]any {
	for i := len(r.lines) - 1; i >= 0; i-- {
		if r.lines[i]["type"] == typ {
			return r.lines[i]
		}
	}
	return nil
}

// runIn runs a built command in ns, to its end.
func runIn(t *testing.T, ns *orthanc.Namespace, env []string, name string, args ...string) *pacsRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := ns.Command(ctx, filepath.Join(binDir, name), args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := &pacsRun{stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			r.lines = append(r.lines, m)
		}
	}
	return r
}

// startSender starts sender send in ns with args, and returns the card's
// text file once it is written; the sender runs until the test ends.
func startSender(t *testing.T, ns *orthanc.Namespace, work string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	uri := filepath.Join(work, "card.txt")
	all := append([]string{"send", "--json", "--quiet", "--site", "GENERAL HOSPITAL", "--uri-file", uri,
		"--listen", "/ip4/127.0.0.1/tcp/0"}, args...)
	cmd := ns.Command(ctx, filepath.Join(binDir, "sender"), all...)
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(work, "sender-state"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("sender's stderr:\n%s", stderr.String())
		}
	})
	for {
		if fi, err := os.Stat(uri); err == nil && fi.Size() > 0 {
			return uri
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("the sender ended before it printed the card: %v\n%s", err, stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// receive runs receiver fetch in ns for the card in uri.
func receive(t *testing.T, ns *orthanc.Namespace, work, uri string, args ...string) *pacsRun {
	t.Helper()
	all := append([]string{"fetch", "--json", "--quiet", "--yes", "--out", filepath.Join(work, "in"), "--uri-file", uri}, args...)
	// The station's configuration is read from work/config, empty unless
	// a test writes one: never from the user's own.
	return runIn(t, ns, []string{"XDG_STATE_HOME=" + filepath.Join(work, "receiver-state"), "XDG_CONFIG_HOME=" + filepath.Join(work, "config")}, "receiver", all...)
}

// scanStudy reads the one study under dir.
func scanStudy(t *testing.T, dir string) *study.Study {
	t.Helper()
	scan, err := study.ScanPaths(context.Background(), []string{dir}, study.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sel, err := study.Select(scan, nil, false)
	if err != nil || len(sel) != 1 {
		t.Fatalf("%s: want one study: %v", dir, err)
	}
	return sel[0]
}

func sopUIDs(s *study.Study) []string {
	var uids []string
	for _, f := range s.Files {
		uids = append(uids, f.SOPInstanceUID)
	}
	slices.Sort(uids)
	return uids
}

// minimalPDF is a one-page PDF, as a report.
const minimalPDF = "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

// TestPACSToPACS is the whole path: the study is in the sending hospital's
// PACS; sender takes it from there by WADO-RS; the receiver stores it into
// the trauma center's PACS by STOW-RS, under the local patient ID and
// accession, with the sender's values kept in (0400,0561), and the report
// as an Encapsulated PDF instance of the study.
func TestPACSToPACS(t *testing.T) {
	ct := filepath.Join(sharedDICOM(t), "ct-pancreas")
	ns := orthanc.NewNamespace(t)
	a := ns.Start(t, orthanc.Name("PACS_A"))
	b := ns.Start(t, orthanc.Name("PACS_B"))
	orig := scanStudy(t, ct)
	var paths []string
	for _, f := range orig.Files {
		paths = append(paths, f.Path)
	}
	a.Upload(t, paths...)

	work := t.TempDir()
	report := filepath.Join(work, "report.pdf")
	if err := os.WriteFile(report, []byte(minimalPDF), 0o644); err != nil {
		t.Fatal(err)
	}
	// Looked up by patient ID and date (QIDO-RS), as staff who do not
	// know the UID would.
	uri := startSender(t, ns, work, "--from-dicomweb", a.DICOMwebURL,
		"--patient-id", orig.Summary.PatientID, "--study-date", orig.Summary.StudyDate, "--report", report)
	r := receive(t, ns, work, uri, "--to-dicomweb", b.DICOMwebURL,
		"--local-patient-id", "MRN0042", "--issuer", "TRAUMA-CENTER", "--local-accession", "TC77")
	if r.code != 0 {
		t.Fatalf("receiver exited %d\n%s", r.code, r.stderr)
	}
	sum := r.line("summary")
	pacs, _ := sum["pacs"].(map[string]any)
	if pacs == nil || pacs["stored"] != float64(len(orig.Files)+1) {
		t.Fatalf("summary's pacs = %v, want %d stored", sum["pacs"], len(orig.Files)+1)
	}
	t.Logf("PACS A → PACS B: %d files fetched in %.1f s, then %v instances reconciled, stored and checked in %.1f s",
		len(orig.Files), sum["seconds"], pacs["stored"], pacs["seconds"])

	// Every instance of A's study is in B, and one more: the report.
	inB := b.Instances(t, orig.Summary.StudyUID)
	want := sopUIDs(orig)
	var extra []string
	for _, uid := range inB {
		if !slices.Contains(want, uid) {
			extra = append(extra, uid)
		}
	}
	for _, uid := range want {
		if !slices.Contains(inB, uid) {
			t.Errorf("instance %s is not in the trauma center's PACS", uid)
		}
	}
	if len(extra) != 1 {
		t.Errorf("the trauma center's PACS has %d instances not from the sending PACS, want 1 (the report)", len(extra))
	}

	// B files the study under the local patient ID and accession (QIDO-RS).
	client, err := dicomweb.New(b.DICOMwebURL, b.HTTPClient())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	matches, err := client.SearchStudies(ctx, dicomweb.StudyQuery{PatientID: "MRN0042"})
	if err != nil {
		t.Fatal(err)
	}
	if len(matches) != 1 || matches[0].StudyInstanceUID != orig.Summary.StudyUID || matches[0].AccessionNumber != "TC77" {
		t.Fatalf("QIDO-RS for MRN0042 found %+v, want the study with accession TC77", matches)
	}
	if m, _ := client.SearchStudies(ctx, dicomweb.StudyQuery{PatientID: orig.Summary.PatientID}); len(m) != 0 {
		t.Errorf("the trauma center's PACS still files the study under the sender's patient ID %s", orig.Summary.PatientID)
	}

	// What B holds: reconciled copies with the originals in (0400,0561),
	// pixel data untouched; and the report, an Encapsulated PDF.
	back := filepath.Join(work, "from-b")
	if _, err := client.RetrieveStudy(ctx, orig.Summary.StudyUID, back, nil); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(back)
	pdfs := 0
	for _, e := range entries {
		dump := dcmdump(t, filepath.Join(back, e.Name()))
		if strings.Contains(dump, "=EncapsulatedPDFStorage") {
			pdfs++
			if !strings.Contains(dump, "[MRN0042]") {
				t.Errorf("the report instance does not carry the local patient ID:\n%s", dump)
			}
			continue
		}
		for _, wantLine := range []string{"(0010,0020) LO [MRN0042]", "(0010,0021) LO [TRAUMA-CENTER]", "(0008,0050) SH [TC77]",
			"(0400,0561) SQ", "(0400,0550) SQ", "(0010,0020) LO [" + orig.Summary.PatientID + "]", "(0400,0565) CS [COERCE]"} {
			if !strings.Contains(dump, wantLine) {
				t.Fatalf("%s from the trauma center's PACS lacks %q:\n%s", e.Name(), wantLine, dump)
			}
		}
	}
	if pdfs != 1 {
		t.Errorf("%d Encapsulated PDF instances in the study, want 1", pdfs)
	}

	// The received folder keeps the sender's verified originals, byte for
	// byte as the sending PACS serves them.
	fromA := filepath.Join(work, "from-a")
	clientA, _ := dicomweb.New(a.DICOMwebURL, a.HTTPClient())
	if _, err := clientA.RetrieveStudy(ctx, orig.Summary.StudyUID, fromA, nil); err != nil {
		t.Fatal(err)
	}
	dir, _ := sum["dir"].(string)
	if got, want := fileHashes(t, dir, ".dcm"), fileHashes(t, fromA, ".dcm"); !slices.Equal(got, want) {
		t.Errorf("the received folder's DICOM files differ from the sending PACS's (%d and %d files)", len(got), len(want))
	}
}

// TestPACSRefusesSome: the trauma center's PACS refuses three instances.
// The receiver says so, names them, exits 12, and keeps them in the
// folder; receiver import later stores them into a PACS that takes them.
func TestPACSRefusesSome(t *testing.T) {
	ns := orthanc.NewNamespace(t)
	work := t.TempDir()
	src := pacsStudy(t, work)
	refused := sopUIDs(src)[:3]
	b := ns.Start(t, orthanc.Name("PACS_B"), orthanc.RejectInstances(refused...))
	uri := startSender(t, ns, work, filepath.Join(work, "study"))
	r := receive(t, ns, work, uri, "--to-dicomweb", b.DICOMwebURL)
	if r.code != 12 {
		t.Fatalf("receiver exited %d, want 12 (import incomplete)\n%s", r.code, r.stderr)
	}
	pacs := r.line("pacs")
	failed, _ := pacs["failed"].([]any)
	var failedUIDs []string
	for _, f := range failed {
		failedUIDs = append(failedUIDs, f.(map[string]any)["sop_instance_uid"].(string))
	}
	slices.Sort(failedUIDs)
	if !slices.Equal(failedUIDs, refused) {
		t.Fatalf("failed %v, want the refused %v", failedUIDs, refused)
	}
	for _, uid := range refused {
		if !strings.Contains(r.stderr, uid) {
			t.Errorf("stderr does not name the refused instance %s:\n%s", uid, r.stderr)
		}
	}
	if got := len(b.Instances(t, src.Summary.StudyUID)); got != len(src.Files)-3 {
		t.Errorf("the PACS holds %d instances, want %d", got, len(src.Files)-3)
	}
	dir, _ := r.line("summary")["dir"].(string)
	if n := len(fileHashes(t, dir, "")); n != len(src.Files) {
		t.Errorf("the folder holds %d files, want all %d", n, len(src.Files))
	}

	// Another PACS takes them all, from the folder.
	c := ns.Start(t, orthanc.Name("PACS_C"))
	imp := runIn(t, ns, []string{"XDG_STATE_HOME=" + filepath.Join(work, "receiver-state")}, "receiver",
		"import", "--json", "--quiet", "--to-dicomweb", c.DICOMwebURL, dir)
	if imp.code != 0 {
		t.Fatalf("receiver import exited %d\n%s", imp.code, imp.stderr)
	}
	if got := len(c.Instances(t, src.Summary.StudyUID)); got != len(src.Files) {
		t.Errorf("after receiver import the PACS holds %d instances, want %d", got, len(src.Files))
	}
}

// TestPACSGoesAway: the trauma center's PACS stops in the middle of the
// import. The receiver exits 12 and lists what is missing; once the PACS
// is back, receiver import completes it.
func TestPACSGoesAway(t *testing.T) {
	ns := orthanc.NewNamespace(t)
	work := t.TempDir()
	src := pacsStudy(t, work)
	b := ns.Start(t, orthanc.Name("PACS_B"))
	uri := startSender(t, ns, work, filepath.Join(work, "study"))

	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		client, _ := dicomweb.New(b.DICOMwebURL, b.HTTPClient())
		for range 600 {
			if uids, _ := client.Instances(context.Background(), src.Summary.StudyUID); len(uids) >= 5 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	done := make(chan *pacsRun, 1)
	go func() {
		done <- receive(t, ns, work, uri, "--to-dicomweb", b.DICOMwebURL, "--stow-batch", "256KB",
			"--local-patient-id", "MRN0099", "--issuer", "TRAUMA-CENTER")
	}()
	<-stopped
	b.Stop(t)
	r := <-done
	if r.code != 12 {
		t.Fatalf("receiver exited %d, want 12 (import incomplete)\n%s", r.code, r.stderr)
	}
	// Those stored before the PACS went away cannot be confirmed either
	// (QIDO-RS finds no PACS): every instance may be listed.
	failed, _ := r.line("pacs")["failed"].([]any)
	if len(failed) == 0 {
		t.Fatalf("no instance failed; want the PACS to have gone away mid-import\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "receiver import") {
		t.Errorf("stderr does not say how to finish the import:\n%s", r.stderr)
	}

	b.Restart(t)
	dir, _ := r.line("summary")["dir"].(string)
	imp := runIn(t, ns, []string{"XDG_STATE_HOME=" + filepath.Join(work, "receiver-state")}, "receiver",
		"import", "--json", "--quiet", "--to-dicomweb", b.DICOMwebURL, "--local-patient-id", "MRN0099", "--issuer", "TRAUMA-CENTER", dir)
	if imp.code != 0 {
		t.Fatalf("receiver import exited %d\n%s", imp.code, imp.stderr)
	}
	if got := b.Instances(t, src.Summary.StudyUID); len(got) != len(src.Files) {
		t.Errorf("after receiver import the PACS holds %d instances, want %d", len(got), len(src.Files))
	}
}

// pacsStudy writes a synthetic study of 40 small images under work/study.
func pacsStudy(t *testing.T, work string) *study.Study {
	t.Helper()
	dir := filepath.Join(work, "study")
	if _, err := synthetic.Write(synthetic.Options{Dir: dir, Series: 2, Images: 20, Rows: 128, Columns: 128, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	return scanStudy(t, dir)
}

// fileHashes returns the sorted SHA-256 sums of the files under dir whose
// names end in ext ("" for all), leaving out imageshare's work folders.
func fileHashes(t *testing.T, dir, ext string) []string {
	t.Helper()
	var sums []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".imageshare" {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() || !strings.HasSuffix(d.Name(), ext) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		sums = append(sums, hex.EncodeToString(sum[:]))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(sums)
	return sums
}

// dcmdump prints a file's dataset with dcmtk, which must read it cleanly.
func dcmdump(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("dcmdump", "-q", path).CombinedOutput()
	if err != nil {
		t.Fatalf("dcmdump %s: %v\n%s", path, err, out)
	}
	return string(out)
}
