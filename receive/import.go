package receive

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"imageshare/audit"
	"imageshare/dicomweb"
	"imageshare/reconcile"
	"imageshare/study"
	"imageshare/transfer"
)

// ErrImportPartial is what every error of Import wraps: the study is
// verified and saved in its folder, but some or all of its instances are
// not in the PACS. The folder is never changed, so the import can be run
// again from it.
var ErrImportPartial = errors.New("the import into the PACS is incomplete")

// ErrOneAccession refuses one local accession number for an offer of
// several studies: an accession number names one study.
var ErrOneAccession = errors.New("a local accession number names one study")

// ImportOptions say where a received study goes and under which local
// patient record (IHE Import Reconciliation, IRWF.b).
type ImportOptions struct {
	// URL is the DICOMweb root of the local PACS, without credentials.
	URL string
	// CredentialsFile, if set, holds "user:password" for the PACS.
	CredentialsFile string
	// Changes are the local values the PACS copies get; the zero value
	// stores the files as the sender sent them.
	Changes reconcile.Changes
	// BatchBytes is how many bytes one STOW-RS request carries at most;
	// 0 for dicomweb.DefaultBatchBytes.
	BatchBytes int64
	// WorkDir holds, while they are sent, the copies that are reconciled
	// or given a Part 10 header, in a temporary folder removed at the end;
	// "" for ".imageshare" beside the study folder.
	WorkDir string
	// HTTPClient talks to the PACS; nil for http.DefaultClient.
	HTTPClient *http.Client
	// Trail records the import (an Instances Sent event); nil records
	// nothing. Station is this receiving station as the trail names it.
	Trail   *audit.Trail
	Station audit.Participant
}

// Reconciles reports whether the PACS copies get local values.
func (o *ImportOptions) Reconciles() bool { return o.Changes != reconcile.Changes{} }

// CheckStudies refuses local values that cannot apply to the studies of
// an offer: one local accession number names one study. The error wraps
// ErrOneAccession.
func (o *ImportOptions) CheckStudies(studies []study.Summary) error {
	if o.Changes.AccessionNumber != "" && len(studies) > 1 {
		return fmt.Errorf("%w, and this offer holds %d", ErrOneAccession, len(studies))
	}
	return nil
}

// RedactedURL is the PACS address raw without its user information, as
// it may be printed and logged.
func RedactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	u.User = nil
	return u.String()
}

// Local is how this hospital files a received study, as staff give it:
// its own patient ID and the issuer of its IDs, accession number, name
// ("FAMILY, GIVEN" or DICOM's "FAMILY^GIVEN"), birth date (YYYYMMDD) and
// sex. Every value is optional.
type Local struct {
	PatientID, Issuer, Accession, Name, BirthDate, Sex string
}

// Changes are the values the PACS copies get. The issuer goes with a
// local patient ID only: it names who issued that ID.
func (l Local) Changes() reconcile.Changes {
	c := reconcile.Changes{PatientID: l.PatientID, AccessionNumber: l.Accession, PatientName: dicomName(l.Name),
		PatientBirthDate: l.BirthDate, PatientSex: strings.ToUpper(l.Sex)}
	if l.PatientID != "" {
		c.IssuerOfPatientID = l.Issuer
	}
	return c
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

// DescribeChanges says what reconciliation changes in the study s, e.g.
// `patient ID "SYN000005" → "MRN123"`.
func DescribeChanges(s study.Summary, c reconcile.Changes) string {
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

// ImportInput is a verified study in a folder, to store in the PACS:
// from the manifest just received (ManifestInput), or from a folder
// saved earlier (FolderInput).
type ImportInput struct {
	Dir     string
	Studies []study.Summary // every study of the offer; the report joins the first
	Site    string          // the sending hospital, "" if not known
	OfferID string          // "" if not known
	Files   []ImportFile
	Report  string // the report's path, "" if none
}

// ImportFile is one instance to store, and the received file it is.
type ImportFile struct {
	Rel      string // its name in the study folder, with slashes
	StudyUID string
	dicomweb.Instance
}

// summaryOf returns the summary of the study uid, or nil.
func (in *ImportInput) summaryOf(uid string) *study.Summary {
	for i := range in.Studies {
		if in.Studies[i].StudyUID == uid {
			return &in.Studies[i]
		}
	}
	return nil
}

// ImportResult is what the PACS holds after an import. Its JSON is the
// "pacs" field of the command line's summary.
type ImportResult struct {
	Stored  int             `json:"stored"`
	Failed  []ImportFailure `json:"failed,omitempty"`
	Report  string          `json:"report,omitempty"` // how the report was stored, if there is one
	Seconds float64         `json:"seconds"`
}

// ImportFailure is one instance not in the PACS, and why.
type ImportFailure struct {
	File   string `json:"file"`
	SOP    string `json:"sop_instance_uid"`
	Reason string `json:"reason"`
}

// Import stores the verified study in into the PACS: reconciled copies
// when o.Changes are set, the report as a DICOM instance of the first
// study, in batches by STOW-RS; then it checks with QIDO-RS, study by
// study, that every instance is there under the patient ID written. A
// file that cannot be reconciled or sent is listed in the result and
// stays in the folder; the others still go. The folder is never changed.
//
// events, if not nil, is called one event at a time, in order: Reconciling
// (if o reconciles), ReportNotStored (if the report cannot be made an
// instance), Storing, PACSProgress as instances settle, and Imported.
// The result is returned with the error when some instances are not in
// the PACS; every error wraps ErrImportPartial.
func Import(ctx context.Context, o ImportOptions, in *ImportInput, events func(ImportEvent)) (*ImportResult, error) {
	if events == nil {
		events = func(ImportEvent) {}
	}
	res, err := importStudy(ctx, &o, in, events)
	if err != nil && !errors.Is(err, ErrImportPartial) {
		err = fmt.Errorf("%w: %w", ErrImportPartial, err)
	}
	return res, err
}

func importStudy(ctx context.Context, o *ImportOptions, in *ImportInput, events func(ImportEvent)) (*ImportResult, error) {
	start := time.Now()
	if len(in.Studies) == 0 {
		return nil, errors.New("the folder holds no study")
	}
	if err := o.CheckStudies(in.Studies); err != nil {
		return nil, err
	}
	base, err := dicomweb.WithCredentials(o.URL, o.CredentialsFile)
	if err != nil {
		return nil, fmt.Errorf("the PACS's credentials: %w", err)
	}
	client, err := dicomweb.New(base, o.HTTPClient)
	if err != nil {
		return nil, err
	}
	workDir := o.WorkDir
	if workDir == "" {
		workDir = filepath.Join(filepath.Dir(in.Dir), ".imageshare")
	}
	if err := os.MkdirAll(workDir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %v", transfer.ErrDisk, err)
	}
	work, err := os.MkdirTemp(workDir, "import-")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", transfer.ErrDisk, err)
	}
	defer os.RemoveAll(work)

	pacsURL := RedactedURL(o.URL)
	if o.Reconciles() {
		events(&Reconciling{Changes: DescribeChanges(in.Studies[0], o.Changes)})
	}
	res := &ImportResult{}
	files := prepare(o, in, work, res, events)

	events(&Storing{URL: pacsURL, Instances: len(files)})
	instances := make([]dicomweb.Instance, len(files))
	for i := range files {
		instances[i] = files[i].Instance
	}
	stored, storeErr := client.Store(ctx, instances, dicomweb.StoreOptions{BatchBytes: o.BatchBytes, Progress: func(done, total int) {
		events(&PACSProgress{Settled: done, Total: total})
	}})
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
	verify(ctx, client, o, in, files, failed)
	for _, f := range files {
		reason, bad := failed[f.SOPInstanceUID]
		if !bad {
			res.Stored++
			continue
		}
		res.Failed = append(res.Failed, ImportFailure{File: f.Rel, SOP: f.SOPInstanceUID, Reason: reason})
	}
	total := res.Stored + len(res.Failed)
	res.Seconds = time.Since(start).Seconds()
	o.Trail.Record(importAudit(o, in, res))
	events(&Imported{URL: pacsURL, Stored: res.Stored, Failed: res.Failed, Report: res.Report,
		Reconciled: o.Reconciles(), Seconds: res.Seconds, Dir: in.Dir})
	if len(res.Failed) > 0 {
		return res, fmt.Errorf("%w: %d of %d instances not stored", ErrImportPartial, len(res.Failed), total)
	}
	return res, nil
}

// prepare returns the instances to send: each file as it is, or a copy
// in work that is reconciled or given its Part 10 header, and the report
// made an instance. What cannot be is listed in res.
func prepare(o *ImportOptions, in *ImportInput, work string, res *ImportResult, events func(ImportEvent)) []ImportFile {
	mod := reconcile.Modification{Time: time.Now(), System: "IMAGESHARE", Source: in.Site, Reason: "COERCE"}
	files := make([]ImportFile, 0, len(in.Files)+1)
	for _, f := range in.Files {
		rewrite, err := needsRewrite(f.Path, o.Reconciles())
		if err == nil && rewrite {
			dst := filepath.Join(work, filepath.FromSlash(f.Rel))
			err = coerceFile(f.Path, dst, o.Changes, mod)
			f.Path = dst
		}
		if err != nil {
			res.Failed = append(res.Failed, ImportFailure{File: f.Rel, SOP: f.SOPInstanceUID, Reason: "not sent to the PACS: " + plainReason(err)})
			continue
		}
		files = append(files, f)
	}
	if in.Report != "" {
		rel, _ := filepath.Rel(in.Dir, in.Report)
		rel = filepath.ToSlash(rel)
		rf, how, err := reportInstance(in, work, o.Changes)
		if err != nil {
			res.Report = "kept in the folder only: " + err.Error()
			events(&ReportNotStored{File: rel, Reason: err.Error()})
		} else {
			rf.Rel = rel
			files = append(files, *rf)
			res.Report = how
		}
	}
	return files
}

// verify marks in failed the instances of files that the PACS does not
// list, study by study, under the patient ID written: what the PACS says
// it has decides, not what STOW-RS answered.
func verify(ctx context.Context, client *dicomweb.Client, o *ImportOptions, in *ImportInput, files []ImportFile, failed map[string]string) {
	want := map[string][]string{}
	var order []string
	for _, f := range files {
		if _, bad := failed[f.SOPInstanceUID]; !bad {
			if want[f.StudyUID] == nil {
				order = append(order, f.StudyUID)
			}
			want[f.StudyUID] = append(want[f.StudyUID], f.SOPInstanceUID)
		}
	}
	for _, uid := range order {
		patientID := o.Changes.PatientID
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
}

// importAudit is the Instances Sent event of the import.
func importAudit(o *ImportOptions, in *ImportInput, res *ImportResult) audit.Event {
	first, ch := in.Studies[0], o.Changes
	uids := make([]string, len(in.Studies))
	for i, s := range in.Studies {
		uids[i] = s.StudyUID
	}
	subj := audit.Subject{PatientID: firstNonEmpty(ch.PatientID, first.PatientID), PatientIDIssuer: firstNonEmpty(ch.IssuerOfPatientID, first.IssuerOfPatientID),
		PatientName: firstNonEmpty(ch.PatientName, first.PatientName), StudyUIDs: uids, OfferID: in.OfferID, Files: res.Stored}
	pacsURL := RedactedURL(o.URL)
	e := audit.InstancesSent(o.Station, audit.Participant{Address: pacsURL}, subj).
		With("dicomweb", pacsURL).With("stored", res.Stored).With("failed", len(res.Failed))
	if o.Reconciles() {
		e = e.With("reconciled", true)
	}
	if len(res.Failed) > 0 {
		e.Outcome = audit.MinorFailure
		if res.Stored == 0 {
			e.Outcome = audit.SeriousFailure
		}
		e.OutcomeDescription = fmt.Sprintf("%d of %d instances not stored in the PACS", len(res.Failed), res.Stored+len(res.Failed))
	}
	return e
}

// plainReason is err's message without the package prefix staff need not
// read.
func plainReason(err error) string {
	return strings.TrimPrefix(err.Error(), "reconcile: ")
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
