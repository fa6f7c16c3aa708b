package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"imageshare/dicomweb"
	"imageshare/e2e/orthanc"
	"imageshare/internal/testenv"
	"imageshare/synthetic"
)

// Import reconciliation against a real PACS (issue 12): what reaches the
// trauma center's PACS is filed under its own patient record and issuer,
// is the study staff approved, and survives a PACS that refuses some of
// it. The PACSes are Orthanc, in a namespace of the test's own.

// The sending hospital's identifiers that must not sit next to a local ID.
const (
	senderIssuer    = "GENERAL-HOSPITAL"
	senderEntityUID = "1.2.826.0.1.3680043.10.1077.1" // its UniversalEntityID
	senderAccession = "GH-ACC-0007"
)

// addSenderIssuers gives every file of the study in dir the sending
// hospital's Issuer of Patient ID (0010,0021), its qualifiers (0010,0024),
// the Issuer of Accession Number Sequence (0008,0051) and a Request
// Attributes Sequence (0040,0275) holding the accession, as a real
// sending PACS writes them (dcmodify, from dcmtk).
func addSenderIssuers(t *testing.T, dir string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.dcm"))
	if err != nil || len(files) == 0 {
		files, _ = filepath.Glob(filepath.Join(dir, "*.dcm"))
	}
	if len(files) == 0 {
		t.Fatalf("no .dcm files under %s", dir)
	}
	args := []string{"-nb", "-q",
		"-i", "(0008,0050)=" + senderAccession,
		"-i", "(0010,0021)=" + senderIssuer,
		"-i", "(0010,0024)[0].(0040,0032)=" + senderEntityUID,
		"-i", "(0010,0024)[0].(0040,0033)=ISO",
		"-i", "(0008,0051)[0].(0040,0031)=" + senderIssuer,
		"-i", "(0040,0275)[0].(0008,0050)=" + senderAccession,
		"-i", "(0040,0275)[0].(0008,0051)[0].(0040,0031)=" + senderIssuer,
		"-i", "(0040,0275)[0].(0040,1001)=RP1",
	}
	out, err := exec.Command("dcmodify", append(args, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("dcmodify: %v\n%s", err, out)
	}
}

// dciodvfyErrors returns the distinct error lines dciodvfy (dicom3tools)
// prints for a file.
func dciodvfyErrors(t *testing.T, path string) []string {
	t.Helper()
	if _, err := exec.LookPath("dciodvfy"); err != nil {
		testenv.Missing(t, "dciodvfy (Debian package dicom3tools) validates what imageshare writes: %v", err)
	}
	out, _ := exec.Command("dciodvfy", "-new", path).CombinedOutput() // exits non-zero on any error
	var errs []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "Error") && !slices.Contains(errs, line) {
			errs = append(errs, line)
		}
	}
	return errs
}

// newErrors are the dciodvfy errors of copy that orig does not have.
func newErrors(t *testing.T, orig, copy string) []string {
	t.Helper()
	was := dciodvfyErrors(t, orig)
	var added []string
	for _, e := range dciodvfyErrors(t, copy) {
		if !slices.Contains(was, e) {
			added = append(added, e)
		}
	}
	return added
}

// topLevel returns dcmdump's top-level lines (not indented) and the lines
// nested in the element whose line starts with tag, indented.
func topLevel(dump string) []string {
	var top []string
	for _, line := range strings.Split(dump, "\n") {
		if strings.HasPrefix(line, "(") {
			top = append(top, line)
		}
	}
	return top
}

func nestedIn(dump, tag string) string {
	lines := strings.Split(dump, "\n")
	for i, line := range lines {
		if !strings.HasPrefix(line, tag) {
			continue
		}
		var b strings.Builder
		for _, l := range lines[i+1:] {
			if strings.HasPrefix(l, "(") {
				break
			}
			b.WriteString(l + "\n")
		}
		return b.String()
	}
	return ""
}

func hasLine(lines []string, prefix string) bool {
	return slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, prefix) })
}

// writeConfig writes a receiver.toml with the station's issuer.
func writeConfig(t *testing.T, dir, issuer string) string {
	t.Helper()
	path := filepath.Join(dir, "receiver.toml")
	if err := os.WriteFile(path, []byte("# The trauma center's receiving station\nissuer = \""+issuer+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestReconcileIssuer: a study whose sender wrote its issuer sequences is
// filed under the local ID with this hospital's issuer, from --issuer or
// from the station's configuration, and never next to the sender's; a
// local ID with no issuer at all is refused before anything is fetched.
// Every replaced value is in (0400,0561), the sender's ID stays in Other
// Patient IDs (0010,1002), a Latin-1 name is stored as written, and
// dciodvfy finds no error the sender's file did not have.
func TestReconcileIssuer(t *testing.T) {
	ns := orthanc.NewNamespace(t)
	for _, tc := range []struct {
		name   string
		pacs   string // its AE title
		issuer string // what the PACS must hold
		args   func(work string) []string
	}{
		{"issuer given", "PACS_GIVEN", "TRAUMA-CENTER", func(string) []string { return []string{"--issuer", "TRAUMA-CENTER"} }},
		{"issuer configured", "PACS_CONFIGURED", "STATION-ISSUER", func(work string) []string {
			// The station's receiver.toml, where the receiver looks for it.
			dir := filepath.Join(work, "config", "imageshare")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			writeConfig(t, dir, "STATION-ISSUER")
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			src := pacsStudy(t, work)
			addSenderIssuers(t, filepath.Join(work, "study"))
			report := filepath.Join(work, "report.pdf")
			if err := os.WriteFile(report, []byte(minimalPDF), 0o644); err != nil {
				t.Fatal(err)
			}
			b := ns.Start(t, orthanc.Name(tc.pacs))
			uri := startSender(t, ns, work, "--report", report, filepath.Join(work, "study"))

			// No issuer anywhere: refused before the fetch.
			r := receive(t, ns, work, uri, "--to-dicomweb", b.DICOMwebURL, "--local-patient-id", "MRN0200")
			if r.code != 2 || !strings.Contains(r.stderr, "issuer") {
				t.Fatalf("a local ID with no issuer: exit %d, want 2 naming the issuer\n%s", r.code, r.stderr)
			}
			if _, err := os.Stat(filepath.Join(work, "in")); err == nil {
				t.Errorf("something was fetched before the refusal")
			}

			args := append([]string{"--to-dicomweb", b.DICOMwebURL, "--local-patient-id", "MRN0200",
				"--local-accession", "TC200", "--local-name", "MÜLLER, JÖRG"}, tc.args(work)...)
			r = receive(t, ns, work, uri, args...)
			if r.code != 0 {
				t.Fatalf("receiver exited %d\n%s", r.code, r.stderr)
			}
			client, err := dicomweb.New(b.DICOMwebURL, b.HTTPClient())
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			matches, err := client.SearchStudies(ctx, dicomweb.StudyQuery{PatientID: "MRN0200"})
			if err != nil || len(matches) != 1 {
				t.Fatalf("QIDO-RS for MRN0200: %v, %v", matches, err)
			}
			if m := matches[0]; m.PatientName != "MÜLLER^JÖRG" || m.AccessionNumber != "TC200" {
				t.Errorf("the PACS files the study as %q, accession %q; want MÜLLER^JÖRG, TC200", m.PatientName, m.AccessionNumber)
			}

			back := filepath.Join(work, "from-pacs")
			paths, err := client.RetrieveStudy(ctx, src.Summary.StudyUID, back, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(paths) != len(src.Files)+1 {
				t.Fatalf("the PACS holds %d instances, want %d and the report", len(paths), len(src.Files))
			}
			orig := map[string]string{}
			for _, f := range src.Files {
				orig[f.SOPInstanceUID] = f.Path
			}
			checked := 0
			for _, path := range paths {
				dump := dcmdump(t, path)
				top := topLevel(dump)
				if !hasLine(top, "(0010,0021) LO ["+tc.issuer+"]") || !hasLine(top, "(0010,0020) LO [MRN0200]") {
					t.Fatalf("%s: not filed as MRN0200 of %s:\n%s", path, tc.issuer, dump)
				}
				for _, gone := range []string{"(0010,0024)", "(0008,0051)"} {
					if hasLine(top, gone) {
						t.Errorf("%s: the sender's %s is still there next to the local ID", path, gone)
					}
				}
				others := nestedIn(dump, "(0010,1002)")
				if !strings.Contains(others, "(0010,0020) LO ["+src.Summary.PatientID+"]") || !strings.Contains(others, "["+senderIssuer+"]") {
					t.Errorf("%s: Other Patient IDs (0010,1002) does not keep the sender's ID with its issuer:\n%s", path, others)
				}
				if strings.Contains(dump, "=EncapsulatedPDFStorage") {
					if e := dciodvfyErrors(t, path); len(e) > 0 {
						t.Errorf("the report instance: dciodvfy errors:\n%s", strings.Join(e, "\n"))
					}
					continue
				}
				if req := nestedIn(dump, "(0040,0275)"); !strings.Contains(req, "(0008,0050) SH [TC200]") || strings.Contains(req, senderAccession) || strings.Contains(req, "(0008,0051)") {
					t.Errorf("%s: Request Attributes Sequence keeps the sender's accession or its issuer:\n%s", path, req)
				}
				olds := nestedIn(dump, "(0400,0561)")
				for _, want := range []string{"(0010,0024) SQ", "(0008,0051) SQ", "(0040,0275) SQ", "[" + senderEntityUID + "]",
					"(0010,0020) LO [" + src.Summary.PatientID + "]", "(0010,0021) LO [" + senderIssuer + "]", "(0008,0050) SH [" + senderAccession + "]"} {
					if !strings.Contains(olds, want) {
						t.Errorf("%s: Original Attributes Sequence (0400,0561) lacks %s:\n%s", path, want, olds)
					}
				}
				uid := sopOf(dump)
				if e := newErrors(t, orig[uid], path); len(e) > 0 {
					t.Errorf("%s: dciodvfy finds errors the sender's file did not have:\n%s", path, strings.Join(e, "\n"))
				}
				checked++
			}
			if checked != len(src.Files) || t.Failed() {
				t.Fatalf("%d images checked", checked)
			}
		})
	}
}

// sopOf reads the SOP Instance UID from a top-level dcmdump line.
func sopOf(dump string) string {
	for _, l := range topLevel(dump) {
		if strings.HasPrefix(l, "(0008,0018) UI [") {
			return strings.TrimSuffix(strings.SplitN(l[len("(0008,0018) UI ["):], "]", 2)[0], "\x00")
		}
	}
	return ""
}

// TestForgedManifest: a sender whose manifest shows staff one patient
// while its files are another's. Every chunk matches its hash; the
// receiver reads the headers before anything is stored, refuses with
// exit 13, stores nothing in the PACS, keeps the files out of any import,
// and records a security alert.
func TestForgedManifest(t *testing.T) {
	ns := orthanc.NewNamespace(t)
	work := t.TempDir()
	dir := filepath.Join(work, "study")
	if _, err := synthetic.Write(synthetic.Options{Dir: dir, Series: 1, Images: 5, Rows: 32, Columns: 32, Seed: 42,
		PatientID: "MRN-0042-VICTIM-01", PatientName: "VICTIM^REAL"}); err != nil {
		t.Fatal(err)
	}
	src := scanStudy(t, dir)
	b := ns.Start(t, orthanc.Name("PACS_B"))

	ctx, cancel := context.WithCancel(context.Background())
	uri := filepath.Join(work, "card.txt")
	cmd := ns.Command(ctx, filepath.Join(binDir, "forgedsender"), "-dir", dir, "-uri-file", uri, "-patient-id", "123", "-patient-name", "DOE^JANE")
	logf, err := os.Create(filepath.Join(work, "forgedsender.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	deadline := time.Now().Add(time.Minute)
	for {
		if fi, err := os.Stat(uri); err == nil && fi.Size() > 0 {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("the forged sender wrote no card:\n%s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}

	r := receive(t, ns, work, uri, "--to-dicomweb", b.DICOMwebURL)
	if r.code != 13 {
		t.Fatalf("receiver exited %d, want 13 (files do not match the study shown)\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"Patient ID (0010,0020)", "\"MRN-0042-VICTIM-01\"", "\"123\"", "REFUSED"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not say %s:\n%s", want, r.stderr)
		}
	}
	if got := b.Instances(t, src.Summary.StudyUID); len(got) != 0 {
		t.Errorf("the PACS holds %d instances of the forged study, want none", len(got))
	}
	client, _ := dicomweb.New(b.DICOMwebURL, b.HTTPClient())
	if m, err := client.SearchStudies(context.Background(), dicomweb.StudyQuery{PatientID: "MRN-0042-VICTIM-01"}); err != nil || len(m) != 0 {
		t.Errorf("QIDO-RS finds %v (%v), want nothing", m, err)
	}
	entries, _ := os.ReadDir(filepath.Join(work, "in"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "study-") {
			t.Errorf("the refused files are in %s, where a folder-watching import takes studies", e.Name())
		}
	}
	trail, err := os.ReadFile(filepath.Join(work, "receiver-state", "imageshare", "audit-receiver.jsonl"))
	if err != nil || !strings.Contains(string(trail), `"content_mismatch"`) {
		t.Errorf("the audit trail has no content_mismatch security alert (%v):\n%s", err, trail)
	}
	if r.line("mismatch") == nil {
		t.Errorf("--json printed no mismatch line")
	}
}

// TestImportOneBadFile: one file the reconciliation cannot write (a
// character set that cannot take the local name) does not sink the
// others, and a file without a Part 10 header, which the sender accepts,
// is given one and stored.
func TestImportOneBadFile(t *testing.T) {
	ns := orthanc.NewNamespace(t)
	work := t.TempDir()
	dir := filepath.Join(work, "study")
	res, err := synthetic.Write(synthetic.Options{Dir: dir, Series: 1, Images: 5, Rows: 32, Columns: 32, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	bare, iso2022 := res.Files[1], res.Files[3]
	// A data set without preamble, "DICM" or meta group (dcmconv -F).
	if out, err := exec.Command("dcmconv", "-F", "+ti", bare, bare+".bare").CombinedOutput(); err != nil {
		t.Fatalf("dcmconv: %v\n%s", err, out)
	}
	if err := os.Rename(bare+".bare", bare); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("dcmodify", "-nb", "-q", "-i", `(0008,0005)=\ISO 2022 IR 87`, iso2022).CombinedOutput(); err != nil {
		t.Fatalf("dcmodify: %v\n%s", err, out)
	}
	src := scanStudy(t, dir)
	if len(src.Files) != 5 {
		t.Fatalf("the sender's scan finds %d files, want 5", len(src.Files))
	}
	b := ns.Start(t, orthanc.Name("PACS_B"))
	uri := startSender(t, ns, work, dir)
	r := receive(t, ns, work, uri, "--to-dicomweb", b.DICOMwebURL, "--local-name", "MÜLLER, JÖRG")
	if r.code != 12 {
		t.Fatalf("receiver exited %d, want 12\n%s", r.code, r.stderr)
	}
	failed, _ := r.line("pacs")["failed"].([]any)
	if len(failed) != 1 {
		t.Fatalf("failed %v, want the ISO 2022 file only", failed)
	}
	f := failed[0].(map[string]any)
	if !strings.HasSuffix(iso2022, filepath.FromSlash(f["file"].(string))) || !strings.Contains(f["reason"].(string), "(0008,0005)") {
		t.Errorf("failure %v, want %s with a reason naming (0008,0005)", f, iso2022)
	}
	if got := b.Instances(t, src.Summary.StudyUID); len(got) != 4 {
		t.Errorf("the PACS holds %d instances, want 4 (the bare file included)", len(got))
	}
}

// TestImportRecovers: the PACS refuses some instances; receiver import
// later stores the rest from the folder, the report included, and a
// second import leaves exactly one report in the PACS.
func TestImportRecovers(t *testing.T) {
	ns := orthanc.NewNamespace(t)
	work := t.TempDir()
	src := pacsStudy(t, work)
	refused := sopUIDs(src)[:3]
	b := ns.Start(t, orthanc.Name("PACS_B"), orthanc.RejectInstances(refused...))
	report := filepath.Join(work, "report.pdf")
	if err := os.WriteFile(report, []byte(minimalPDF), 0o644); err != nil {
		t.Fatal(err)
	}
	uri := startSender(t, ns, work, "--report", report, filepath.Join(work, "study"))
	local := []string{"--local-patient-id", "MRN0300", "--issuer", "TRAUMA-CENTER"}
	r := receive(t, ns, work, uri, append([]string{"--to-dicomweb", b.DICOMwebURL}, local...)...)
	if r.code != 12 {
		t.Fatalf("receiver exited %d, want 12\n%s", r.code, r.stderr)
	}
	if got := len(b.Instances(t, src.Summary.StudyUID)); got != len(src.Files)-3+1 {
		t.Errorf("the PACS holds %d instances, want %d and the report", got, len(src.Files)-3)
	}
	dir, _ := r.line("summary")["dir"].(string)

	c := ns.Start(t, orthanc.Name("PACS_C"))
	for i := range 2 {
		imp := runIn(t, ns, []string{"XDG_STATE_HOME=" + filepath.Join(work, "receiver-state")}, "receiver",
			append(append([]string{"import", "--json", "--quiet", "--to-dicomweb", c.DICOMwebURL}, local...), dir)...)
		if imp.code != 0 {
			t.Fatalf("receiver import %d exited %d\n%s", i+1, imp.code, imp.stderr)
		}
		if rep, _ := imp.line("pacs")["report"].(string); rep != "Encapsulated PDF" {
			t.Errorf("import %d: report %q, want it stored as an Encapsulated PDF", i+1, rep)
		}
		inC := c.Instances(t, src.Summary.StudyUID)
		if len(inC) != len(src.Files)+1 {
			t.Errorf("after import %d the PACS holds %d instances, want %d and one report", i+1, len(inC), len(src.Files))
		}
	}
	// The report's UIDs come from the offer and the report: the fetch's
	// import into B and the imports into C made the same instance.
	inB, inC := b.Instances(t, src.Summary.StudyUID), c.Instances(t, src.Summary.StudyUID)
	var reportB, reportC []string
	for _, uid := range inB {
		if !slices.Contains(sopUIDs(src), uid) {
			reportB = append(reportB, uid)
		}
	}
	for _, uid := range inC {
		if !slices.Contains(sopUIDs(src), uid) {
			reportC = append(reportC, uid)
		}
	}
	if len(reportC) != 1 || !slices.Equal(reportB, reportC) {
		t.Errorf("report instances: %v in B, %v in C; want the same one", reportB, reportC)
	}
}

// TestSeveralStudiesImport: an offer of two studies of one patient
// (sender --all-studies) goes into the PACS whole, from the fetch and from
// receiver import; one local accession for both is refused.
func TestSeveralStudiesImport(t *testing.T) {
	ns := orthanc.NewNamespace(t)
	work := t.TempDir()
	var uids []string
	total := 0
	for i, seed := range []int64{21, 22} {
		dir := filepath.Join(work, "study", []string{"ct", "mr"}[i])
		res, err := synthetic.Write(synthetic.Options{Dir: dir, Series: 1, Images: 3 + i, Rows: 32, Columns: 32, Seed: seed,
			PatientID: "SYN-TWO", PatientName: "TWO^STUDIES"})
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, res.StudyUID)
		total += len(res.Files)
	}
	if uids[0] == uids[1] {
		t.Fatal("the two synthetic studies share a UID")
	}
	b := ns.Start(t, orthanc.Name("PACS_B"))
	uri := startSender(t, ns, work, "--all-studies", filepath.Join(work, "study"))

	r := receive(t, ns, work, uri, "--to-dicomweb", b.DICOMwebURL, "--local-accession", "TC1")
	if r.code != 2 || !strings.Contains(r.stderr, "--local-accession") {
		t.Fatalf("one local accession for two studies: exit %d, want 2\n%s", r.code, r.stderr)
	}
	r = receive(t, ns, work, uri, "--to-dicomweb", b.DICOMwebURL, "--local-patient-id", "MRN0400", "--issuer", "TRAUMA-CENTER")
	if r.code != 0 {
		t.Fatalf("receiver exited %d\n%s", r.code, r.stderr)
	}
	stored := 0
	for _, uid := range uids {
		stored += len(b.Instances(t, uid))
	}
	if stored != total {
		t.Errorf("the PACS holds %d instances of the two studies, want %d", stored, total)
	}
	dir, _ := r.line("summary")["dir"].(string)
	c := ns.Start(t, orthanc.Name("PACS_C"))
	imp := runIn(t, ns, []string{"XDG_STATE_HOME=" + filepath.Join(work, "receiver-state")}, "receiver",
		"import", "--json", "--quiet", "--to-dicomweb", c.DICOMwebURL, dir)
	if imp.code != 0 {
		t.Fatalf("receiver import exited %d\n%s", imp.code, imp.stderr)
	}
	stored = 0
	for _, uid := range uids {
		stored += len(c.Instances(t, uid))
	}
	if stored != total {
		t.Errorf("after receiver import the PACS holds %d instances, want %d", stored, total)
	}
	// The same folder without its record (as an older receiver saved it)
	// is scanned: both studies still go.
	if err := os.RemoveAll(filepath.Join(dir, ".imageshare")); err != nil {
		t.Fatal(err)
	}
	d := ns.Start(t, orthanc.Name("PACS_D"))
	imp = runIn(t, ns, []string{"XDG_STATE_HOME=" + filepath.Join(work, "receiver-state")}, "receiver",
		"import", "--json", "--quiet", "--to-dicomweb", d.DICOMwebURL, dir)
	if imp.code != 0 {
		t.Fatalf("receiver import of a folder without its record exited %d\n%s", imp.code, imp.stderr)
	}
}
