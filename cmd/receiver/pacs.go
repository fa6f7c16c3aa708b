package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"imageshare/audit"
	"imageshare/console"
	"imageshare/dicomweb"
	"imageshare/reconcile"
	"imageshare/study"
	"imageshare/transfer"
)

// pacsOptions say where the received study goes and under which local
// patient record (IHE Import Reconciliation, IRWF.b).
type pacsOptions struct {
	url              string  // --to-dicomweb: the DICOMweb root of the local PACS
	credentialsFile  string  // --dicomweb-credentials: "user:password" for it
	patientID        string  // --local-patient-id
	issuer           string  // --issuer, or the station's configured issuer
	issuerFromConfig bool    // issuer came from the configuration, not a flag
	accession        string  // --local-accession
	name             string  // --local-name, e.g. "TRAUMA^ALPHA"
	birthDate        string  // --local-birth-date, YYYYMMDD
	sex              string  // --local-sex, M, F or O
	batch            float64 // --stow-batch: bytes a STOW-RS request carries at most, 0 for the default
}

// changes are the local values the PACS copies get. The issuer goes with
// a local patient ID only: it names who issued that ID.
func (p *pacsOptions) changes() reconcile.Changes {
	c := reconcile.Changes{PatientID: p.patientID, AccessionNumber: p.accession, PatientName: dicomName(p.name),
		PatientBirthDate: p.birthDate, PatientSex: strings.ToUpper(p.sex)}
	if p.patientID != "" {
		c.IssuerOfPatientID = p.issuer
	}
	return c
}

func (p *pacsOptions) reconciles() bool { return p.changes() != reconcile.Changes{} }

// namesPatient reports whether the options name one patient: they cannot
// apply to every card of a scanning session. The configured issuer names
// none.
func (p *pacsOptions) namesPatient() bool {
	return p.patientID != "" || p.accession != "" || p.name != "" || p.birthDate != "" || p.sex != "" ||
		(p.issuer != "" && !p.issuerFromConfig)
}

// check refuses, before anything is fetched: reconciliation without a PACS
// (it changes only the copies that go there); a local patient ID without
// this hospital's issuer (it would be filed under the sender's); values
// that cannot be written; and a PACS address that carries a password (argv
// is readable by every user of the machine).
func (p *pacsOptions) check(configPath string) error {
	if p.url == "" {
		if p.namesPatient() {
			return &usageError{"--local-patient-id, --issuer, --local-accession, --local-name, --local-birth-date and --local-sex apply to the copies sent to the PACS: give --to-dicomweb URL too (the received folder always keeps the sender's originals)"}
		}
		if p.credentialsFile != "" {
			return &usageError{"--dicomweb-credentials needs --to-dicomweb URL"}
		}
		return nil
	}
	if err := dicomweb.CheckRoot(p.url); err != nil {
		return &usageError{"--to-dicomweb: " + err.Error()}
	}
	if p.issuer != "" && !p.issuerFromConfig && p.patientID == "" {
		return &usageError{"--issuer names the issuer of --local-patient-id: give both"}
	}
	if p.patientID != "" && strings.TrimSpace(p.issuer) == "" {
		where := "set issuer in " + configPathOrDefault(configPath)
		return &usageError{"--local-patient-id needs this hospital's issuer of patient IDs, or the PACS would file a local ID under the sending hospital's issuer: give --issuer, or " + where}
	}
	if err := p.changes().Check(); err != nil {
		return &usageError{"the local values for the PACS: " + strings.TrimPrefix(err.Error(), "reconcile: ")}
	}
	return nil
}

func configPathOrDefault(path string) string {
	if path != "" {
		return path
	}
	if d := defaultConfigPath(); d != "" {
		return d
	}
	return "the station's receiver.toml (--config FILE)"
}

// checkStudies refuses local values that cannot apply to the offer's
// studies: one local accession number names one study.
func (p *pacsOptions) checkStudies(studies []study.Summary) error {
	if p.url != "" && p.accession != "" && len(studies) > 1 {
		return &usageError{fmt.Sprintf("--local-accession names one study, and this offer holds %d; fetch without it, then give each study its accession in the PACS", len(studies))}
	}
	return nil
}

// dicomName turns "TRAUMA, ALPHA" into the DICOM person name
// "TRAUMA^ALPHA"; a name already in DICOM form is kept.
func dicomName(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.Contains(s, "^") {
		return s
	}
	family, given, ok := strings.Cut(s, ",")
	if !ok {
		return s
	}
	return strings.TrimSpace(family) + "^" + strings.TrimSpace(given)
}

// baseURL is the PACS root with the credentials from the file, if any.
func (p *pacsOptions) baseURL() (string, error) {
	base, err := dicomweb.WithCredentials(p.url, p.credentialsFile)
	if err != nil {
		return "", fmt.Errorf("--dicomweb-credentials: %w", err)
	}
	return base, nil
}

// redactedURL is the PACS address as it may be printed and logged.
func (p *pacsOptions) redactedURL() string {
	u, err := url.Parse(p.url)
	if err != nil {
		return "(invalid URL)"
	}
	u.User = nil
	return u.String()
}

// errImportPartial: the study is verified and saved in the folder, but
// some of its instances are not in the PACS.
var errImportPartial = errors.New("the import into the PACS is incomplete")

// importFile is one instance to store, and the received file it came from.
type importFile struct {
	rel      string // its name in the received folder; for the report made here, the report's
	studyUID string
	dicomweb.Instance
}

// importResult is what the PACS holds after the import.
type importResult struct {
	Stored  int             `json:"stored"`
	Failed  []importFailure `json:"failed,omitempty"`
	Report  string          `json:"report,omitempty"` // how the report was stored, if there is one
	Seconds float64         `json:"seconds"`
}

type importFailure struct {
	File   string `json:"file"`
	SOP    string `json:"sop_instance_uid"`
	Reason string `json:"reason"`
}

// importToPACS stores the verified study in dir into the PACS: reconciled
// copies when local identifiers are given, the report as a DICOM instance
// of the study, in batches by STOW-RS, then checks with QIDO-RS that every
// instance is there. The folder is never changed.
func importToPACS(ctx context.Context, o *fetchOptions, in *importInput, stderr io.Writer, js *console.JSON, me audit.Participant) (*importResult, error) {
	res, err := importStudy(ctx, o, in, stderr, js, me)
	if err != nil && !errors.Is(err, errImportPartial) {
		err = fmt.Errorf("%w: %w", errImportPartial, err)
	}
	return res, err
}

// importInput is a verified study in a folder, to store in the PACS.
type importInput struct {
	dir     string
	studies []study.Summary // every study of the offer; the report joins the first
	site    string          // the sending hospital, "" if not known
	offerID string          // "" if not known
	files   []importFile
	report  string // the report's path, "" if none
}

// manifestInput is the study just received.
func manifestInput(m *transfer.Manifest, dir string) *importInput {
	in := &importInput{dir: dir, studies: m.Studies, site: m.Site, offerID: m.OfferID}
	for _, f := range m.Files {
		path := filepath.Join(dir, filepath.FromSlash(f.Path))
		if f.Kind == study.KindReport {
			in.report = path
			continue
		}
		in.files = append(in.files, importFile{rel: f.Path, studyUID: f.StudyUID, Instance: dicomweb.Instance{Path: path, SOPInstanceUID: f.SOP}})
	}
	return in
}

// summaryOf returns the summary of the study uid, or nil.
func (in *importInput) summaryOf(uid string) *study.Summary {
	for i := range in.studies {
		if in.studies[i].StudyUID == uid {
			return &in.studies[i]
		}
	}
	return nil
}

func importStudy(ctx context.Context, o *fetchOptions, in *importInput, stderr io.Writer, js *console.JSON, me audit.Participant) (*importResult, error) {
	p := &o.pacs
	start := time.Now()
	if len(in.studies) == 0 {
		return nil, errors.New("the folder holds no study")
	}
	if err := p.checkStudies(in.studies); err != nil {
		return nil, err
	}
	base, err := p.baseURL()
	if err != nil {
		return nil, err
	}
	client, err := dicomweb.New(base, nil)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(o.out, ".imageshare"), 0o700); err != nil {
		return nil, fmt.Errorf("%w: %v", transfer.ErrDisk, err)
	}
	work, err := os.MkdirTemp(filepath.Join(o.out, ".imageshare"), "import-")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", transfer.ErrDisk, err)
	}
	defer os.RemoveAll(work)

	first := in.studies[0]
	ch := p.changes()
	mod := reconcile.Modification{Time: time.Now(), System: "IMAGESHARE", Source: in.site, Reason: "COERCE"}
	if p.reconciles() {
		fmt.Fprintf(stderr, "receiver: reconciling for the PACS: %s (the folder keeps the sender's originals)\n", describeChanges(first, ch))
	}
	res := &importResult{}
	// One file that cannot be reconciled, or made a Part 10 file, is
	// listed and left in the folder; the others still go.
	files := make([]importFile, 0, len(in.files)+1)
	for _, f := range in.files {
		rewrite, err := needsRewrite(f.Path, p.reconciles())
		if err == nil && rewrite {
			dst := filepath.Join(work, filepath.FromSlash(f.rel))
			err = coerceFile(f.Path, dst, ch, mod)
			f.Path = dst
		}
		if err != nil {
			res.Failed = append(res.Failed, importFailure{File: f.rel, SOP: f.SOPInstanceUID, Reason: "not sent to the PACS: " + plainReason(err)})
			continue
		}
		files = append(files, f)
	}
	if in.report != "" {
		rel, _ := filepath.Rel(in.dir, in.report)
		rf, how, err := reportInstance(in, work, ch)
		if err != nil {
			res.Report = "kept in the folder only: " + err.Error()
			fmt.Fprintf(stderr, "receiver: warning: the report %s stays in the folder only: %v\n", rel, err)
		} else {
			rf.rel = filepath.ToSlash(rel)
			files = append(files, *rf)
			res.Report = how
		}
	}

	fmt.Fprintf(stderr, "receiver: storing %d instances in the PACS at %s ...\n", len(files), p.redactedURL())
	bar := console.NewCounter(stderr, int64(len(files)), "PACS", "instances", !o.quiet && !o.json)
	instances := make([]dicomweb.Instance, len(files))
	for i := range files {
		instances[i] = files[i].Instance
	}
	stored, storeErr := client.Store(ctx, instances, dicomweb.StoreOptions{BatchBytes: int64(p.batch), Progress: func(done, total int) {
		bar.Set(int64(done))
		js.Emit(map[string]any{"type": "pacs_progress", "settled": done, "total": total}) // stored or failed for good
	}})
	bar.Finish()
	failed := map[string]string{}
	if stored != nil {
		for _, f := range stored.Failed {
			failed[f.SOPInstanceUID] = f.Text
		}
	}
	if storeErr != nil && stored == nil {
		for _, f := range files {
			failed[f.SOPInstanceUID] = storeErr.Error()
		}
	}
	// What the PACS says it has under the patient ID written, not what
	// STOW-RS answered, decides: study by study.
	want := map[string][]string{}
	var order []string
	for _, f := range files {
		if _, bad := failed[f.SOPInstanceUID]; !bad {
			if want[f.studyUID] == nil {
				order = append(order, f.studyUID)
			}
			want[f.studyUID] = append(want[f.studyUID], f.SOPInstanceUID)
		}
	}
	for _, uid := range order {
		patientID := ch.PatientID
		if patientID == "" {
			if s := in.summaryOf(uid); s != nil {
				patientID = s.PatientID
			}
		}
		missing, err := client.Verify(ctx, uid, patientID, want[uid])
		if err != nil {
			for _, sop := range want[uid] {
				failed[sop] = "could not be checked in the PACS: " + err.Error()
			}
		}
		for _, sop := range missing {
			failed[sop] = "stored, but the PACS does not list it under this patient ID (QIDO-RS)"
		}
	}
	for _, f := range files {
		reason, bad := failed[f.SOPInstanceUID]
		if !bad {
			res.Stored++
			continue
		}
		res.Failed = append(res.Failed, importFailure{File: f.rel, SOP: f.SOPInstanceUID, Reason: reason})
	}
	total := res.Stored + len(res.Failed)
	res.Seconds = time.Since(start).Seconds()

	uids := make([]string, len(in.studies))
	for i, s := range in.studies {
		uids[i] = s.StudyUID
	}
	subj := audit.Subject{PatientID: firstNonEmpty(ch.PatientID, first.PatientID), PatientIDIssuer: firstNonEmpty(ch.IssuerOfPatientID, first.IssuerOfPatientID),
		PatientName: firstNonEmpty(ch.PatientName, first.PatientName), StudyUIDs: uids, OfferID: in.offerID, Files: res.Stored}
	pacs := audit.Participant{Address: p.redactedURL()}
	e := audit.InstancesSent(me, pacs, subj).With("dicomweb", p.redactedURL()).With("stored", res.Stored).With("failed", len(res.Failed))
	if p.reconciles() {
		e = e.With("reconciled", true)
	}
	if len(res.Failed) > 0 {
		e.Outcome = audit.MinorFailure
		if res.Stored == 0 {
			e.Outcome = audit.SeriousFailure
		}
		e.OutcomeDescription = fmt.Sprintf("%d of %d instances not stored in the PACS", len(res.Failed), total)
	}
	o.trail.Record(e)
	js.Emit(map[string]any{"type": "pacs", "url": p.redactedURL(), "stored": res.Stored, "failed": res.Failed,
		"report": res.Report, "reconciled": p.reconciles(), "seconds": res.Seconds})

	if len(res.Failed) == 0 {
		fmt.Fprintf(stderr, "receiver: all %d instances are in the PACS (checked by QIDO-RS) in %s\n", res.Stored, time.Since(start).Round(time.Millisecond))
		return res, nil
	}
	fmt.Fprintf(stderr, "receiver: %d of %d instances are NOT in the PACS; they stay in %s:\n", len(res.Failed), total, in.dir)
	for i, f := range res.Failed {
		if i == 20 && len(res.Failed) > 25 {
			fmt.Fprintf(stderr, "  ... and %d more (all in --json)\n", len(res.Failed)-i)
			break
		}
		fmt.Fprintf(stderr, "  %s (%s): %s\n", f.File, f.SOP, f.Reason)
	}
	again := "--to-dicomweb " + p.redactedURL()
	if p.reconciles() {
		again += " (and the same --local-… options)"
	}
	fmt.Fprintf(stderr, "hint: once the PACS takes them, store the study again from the folder: receiver import %s %s\n", again, in.dir)
	return res, fmt.Errorf("%w: %d of %d instances not stored", errImportPartial, len(res.Failed), total)
}

// plainReason is err's message without the package prefix staff need not
// read.
func plainReason(err error) string {
	return strings.TrimPrefix(err.Error(), "reconcile: ")
}

// needsRewrite reports whether the file at path goes to the PACS as a
// copy: reconciled, or given the PS3.10 header that STOW-RS needs.
func needsRewrite(path string, reconciles bool) (bool, error) {
	if reconciles {
		return true, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	return reconcile.NeedsRewrite(f)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// describeChanges says what reconciliation changes, e.g.
// "patient ID SYN000005 → MRN123".
func describeChanges(s study.Summary, c reconcile.Changes) string {
	var parts []string
	add := func(what, from, to string) {
		if to != "" && to != from {
			parts = append(parts, fmt.Sprintf("%s %q → %q", what, from, to))
		}
	}
	add("patient ID", s.PatientID, c.PatientID)
	add("issuer", s.IssuerOfPatientID, c.IssuerOfPatientID)
	add("accession", s.Accession, c.AccessionNumber)
	add("name", s.PatientName, c.PatientName)
	add("birth date", s.BirthDate, c.PatientBirthDate)
	add("sex", s.Sex, c.PatientSex)
	if len(parts) == 0 {
		return "nothing to change"
	}
	return strings.Join(parts, ", ")
}

// coerceFile writes a reconciled copy of src to dst, complete or not at all.
func coerceFile(src, dst string, c reconcile.Changes, m reconcile.Modification) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	out, err := os.CreateTemp(filepath.Dir(dst), ".coerce-*")
	if err != nil {
		return err
	}
	defer os.Remove(out.Name())
	w := bufio.NewWriterSize(out, 1<<20)
	if err := reconcile.Coerce(bufio.NewReaderSize(in, 1<<20), w, c, m); err != nil {
		out.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(out.Name(), dst)
}

// maxReport bounds the report read into memory to wrap it in DICOM.
const maxReport = 64 << 20

// reportInstance wraps the report in a DICOM instance of the first study:
// a PDF as Encapsulated PDF, text as a Basic Text SR. Its UIDs derive from
// the offer and the report's bytes, so that importing the same folder
// again replaces the report rather than adding a second one; its General
// Study module repeats that of the study's images.
func reportInstance(in *importInput, work string, c reconcile.Changes) (*importFile, string, error) {
	path := in.report
	fi, err := os.Stat(path)
	if err != nil {
		return nil, "", err
	}
	if fi.Size() > maxReport {
		return nil, "", fmt.Errorf("%s is over %d MiB", filepath.Base(path), maxReport>>20)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	s := in.studies[0]
	ref := reconcile.StudyRef{
		StudyInstanceUID: s.StudyUID, PatientName: firstNonEmpty(c.PatientName, s.PatientName),
		PatientID: firstNonEmpty(c.PatientID, s.PatientID), IssuerOfPatientID: s.IssuerOfPatientID,
		PatientBirthDate: firstNonEmpty(c.PatientBirthDate, s.BirthDate), PatientSex: firstNonEmpty(c.PatientSex, s.Sex),
		StudyDate: s.StudyDate, StudyTime: s.StudyTime, StudyDescription: s.Description,
		AccessionNumber: firstNonEmpty(c.AccessionNumber, s.Accession),
	}
	if c.PatientID != "" {
		// This hospital's ID under its own issuer; the sender's ID, with
		// its issuer, as another ID of the patient.
		ref.IssuerOfPatientID = c.IssuerOfPatientID
		ref.OtherPatientIDs = []reconcile.OtherPatientID{{ID: s.PatientID, Issuer: s.IssuerOfPatientID}}
	}
	for _, f := range in.files {
		if f.studyUID != s.StudyUID {
			continue
		}
		// The images' General Study module, as received.
		if sm, err := study.ReadStudyModule(f.Path); err == nil {
			ref.StudyID, ref.ReferringPhysicianName = sm.StudyID, sm.ReferringPhysicianName
			if ref.StudyDescription == "" {
				ref.StudyDescription = sm.StudyDescription
			}
			break
		}
	}
	title := "Report"
	if in.site != "" {
		title = "Report from " + in.site
	}
	key := in.offerID
	if key == "" {
		key = s.StudyUID // a folder from before the offer was kept: still the same on every import
	}
	series, sop := reconcile.ReportUIDs(key, b)
	opts := reconcile.ReportOptions{Title: title, Time: time.Now(), SeriesInstanceUID: series, SOPInstanceUID: sop}
	var buf bytes.Buffer
	var inst reconcile.Instance
	how := "Encapsulated PDF"
	if bytes.HasPrefix(b, []byte("%PDF-")) {
		inst, err = reconcile.EncapsulatedPDF(&buf, ref, b, opts)
	} else {
		how = "Basic Text SR"
		inst, err = reconcile.BasicTextSR(&buf, ref, string(b), opts)
	}
	if err != nil {
		return nil, "", err
	}
	out := filepath.Join(work, "report.dcm")
	if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
		return nil, "", err
	}
	return &importFile{studyUID: s.StudyUID, Instance: dicomweb.Instance{Path: out, SOPInstanceUID: inst.SOPInstanceUID, SOPClassUID: inst.SOPClassUID}}, how, nil
}
