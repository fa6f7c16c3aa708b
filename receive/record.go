package receive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"imageshare/audit"
	"imageshare/dicomweb"
	"imageshare/internal/atomicfile"
	"imageshare/study"
	"imageshare/transfer"
)

// RecordName is where a fetched study's folder keeps what was shown to
// staff and what the files are, so that a later import stores the folder
// as the fetch would have, with its report, its site and its offer. It is
// hidden, so that a folder-watching PACS import skips it.
const RecordName = ".imageshare/received.json"

// Record is the content of RecordName.
type Record struct {
	Version  int             `json:"version"`
	OfferID  string          `json:"offer_id"`
	Site     string          `json:"site,omitempty"`
	Received time.Time       `json:"received"`
	Studies  []study.Summary `json:"studies"`
	Files    []RecordFile    `json:"files"`
}

// RecordFile is one file of a Record.
type RecordFile struct {
	Path      string     `json:"path"` // its name in the study folder, with slashes
	Kind      study.Kind `json:"kind"`
	StudyUID  string     `json:"study_uid,omitempty"`
	SeriesUID string     `json:"series_uid,omitempty"`
	SOP       string     `json:"sop_instance_uid,omitempty"`
}

// maxRecord bounds the record read back: a manifest's files, without its
// chunks.
const maxRecord = 256 << 20

// NewRecord is the record of the study the manifest m describes,
// received now.
func NewRecord(m *transfer.Manifest) *Record {
	r := &Record{Version: 1, OfferID: m.OfferID, Site: m.Site, Received: time.Now().UTC(), Studies: m.Studies}
	for _, f := range m.Files {
		r.Files = append(r.Files, RecordFile{Path: f.Path, Kind: f.Kind, StudyUID: f.StudyUID, SeriesUID: f.Series, SOP: f.SOP})
	}
	return r
}

// Write saves the record in the study folder dir, complete or not at all.
func (r *Record) Write(dir string) error {
	b, err := json.MarshalIndent(r, "", "\t")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, filepath.FromSlash(RecordName))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o600)
}

// ReadRecord reads the record of the study folder dir; nil and no error
// if there is none (a folder saved by an older receiver). A record that is
// not one this receiver wrote, or that names a file outside the folder,
// is an error.
func ReadRecord(dir string) (*Record, error) {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(RecordName)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRecord+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxRecord {
		return nil, fmt.Errorf("%s is over %d MiB", RecordName, maxRecord>>20)
	}
	var r Record
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&r); err != nil {
		return nil, fmt.Errorf("%s in %s: %w", RecordName, dir, err)
	}
	if r.Version != 1 || len(r.Studies) == 0 {
		return nil, fmt.Errorf("%s in %s: version %d with %d studies is not one this receiver reads", RecordName, dir, r.Version, len(r.Studies))
	}
	for _, f := range r.Files {
		if err := study.CheckName(f.Path); err != nil {
			return nil, fmt.Errorf("%s in %s: %w", RecordName, dir, err)
		}
	}
	return &r, nil
}

// Expected is what the record promises of each file.
func (r *Record) Expected() []study.Expected {
	out := make([]study.Expected, len(r.Files))
	for i, f := range r.Files {
		out[i] = study.Expected{Rel: f.Path, Kind: f.Kind, StudyUID: f.StudyUID, SeriesUID: f.SeriesUID, SOPInstanceUID: f.SOP}
	}
	return out
}

// Input is the folder dir to import, as the record describes it.
func (r *Record) Input(dir string) *ImportInput {
	in := &ImportInput{Dir: dir, Studies: r.Studies, Site: r.Site, OfferID: r.OfferID}
	for _, f := range r.Files {
		in.add(f.Path, f.Kind, f.StudyUID, f.SOP)
	}
	return in
}

// add adds the file rel of the folder: the report, or an instance.
func (in *ImportInput) add(rel string, kind study.Kind, studyUID, sop string) {
	path := filepath.Join(in.Dir, filepath.FromSlash(rel))
	if kind == study.KindReport {
		in.Report = path
		return
	}
	in.Files = append(in.Files, ImportFile{Rel: rel, StudyUID: studyUID, Instance: dicomweb.Instance{Path: path, SOPInstanceUID: sop}})
}

// ManifestInput is the study the manifest m describes, just received and
// verified in dir.
func ManifestInput(m *transfer.Manifest, dir string) *ImportInput {
	in := &ImportInput{Dir: dir, Studies: m.Studies, Site: m.Site, OfferID: m.OfferID}
	for _, f := range m.Files {
		in.add(f.Path, f.Kind, f.StudyUID, f.SOP)
	}
	return in
}

// ManifestExpected is what the manifest m promises of each file.
func ManifestExpected(m *transfer.Manifest) []study.Expected {
	out := make([]study.Expected, len(m.Files))
	for i, f := range m.Files {
		out[i] = study.Expected{Rel: f.Path, Kind: f.Kind, StudyUID: f.StudyUID, SeriesUID: f.Series, SOPInstanceUID: f.SOP}
	}
	return out
}

// FolderInput reads a study folder as a fetch saved it. With its record,
// the files must still be what the fetch showed staff: every header is
// read again, and a file that is not is a *study.MismatchError. Without
// one, the folder is scanned: every study in it, of one patient, and at
// most one file at its top that is not DICOM but a PDF or text, the
// report.
func FolderInput(ctx context.Context, dir string) (*ImportInput, error) {
	rec, err := ReadRecord(dir)
	if err != nil {
		return nil, err
	}
	if rec != nil {
		if err := study.CheckReceived(ctx, dir, rec.Studies, rec.Expected()); err != nil {
			return nil, err
		}
		return rec.Input(dir), nil
	}
	scan, err := study.ScanPaths(ctx, []string{dir}, study.ScanOptions{})
	if err != nil {
		return nil, err
	}
	in := &ImportInput{Dir: dir}
	for _, p := range scan.Problems {
		rel, _ := filepath.Rel(dir, p.Path)
		if errors.Is(p.Err, study.ErrNotDICOM) && !strings.ContainsRune(filepath.ToSlash(rel), '/') && looksLikeReport(p.Path) {
			if in.Report != "" {
				return nil, fmt.Errorf("%s holds two files that may be the report, %s and %s: keep one", dir, filepath.Base(in.Report), rel)
			}
			in.Report = p.Path
			continue
		}
		return nil, fmt.Errorf("%s is not as receiver fetch saved it: %w", dir, p)
	}
	if len(scan.Studies) == 0 {
		return nil, fmt.Errorf("%s: %w", dir, study.ErrNoStudy)
	}
	// Several studies of one patient came in one offer (sender
	// --all-studies); studies of several patients did not.
	if _, err := study.Select(scan, nil, true); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	for _, st := range scan.Studies {
		in.Studies = append(in.Studies, st.Summary)
		for _, f := range st.Files {
			in.Files = append(in.Files, ImportFile{Rel: f.Rel, StudyUID: f.StudyUID, Instance: dicomweb.Instance{Path: f.Path, SOPInstanceUID: f.SOPInstanceUID, SOPClassUID: f.SOPClassUID}})
		}
	}
	return in, nil
}

// looksLikeReport reports whether a file that is not DICOM is a report as
// the sender sends them: a PDF, or text.
func looksLikeReport(path string) bool {
	_, _, err := study.Report(path, "")
	return err == nil
}

// RefuseMismatch records in trail that the files received from from are
// not the study that was shown (a Security Alert, WRONG-CONTENT), and
// returns the event that tells staff and scripts, file by file. Nothing
// may then go to the PACS: Quarantine the folder.
func RefuseMismatch(trail *audit.Trail, e *study.MismatchError, me, from audit.Participant, offerID string) *Mismatch {
	trail.Record(audit.SecurityAlert(audit.AlertContentMismatch, me, from, offerID, e.Error()))
	return &Mismatch{Mismatches: e.Mismatches}
}

// Quarantine renames the study folder dir so that no folder-watching
// import takes it in: "refused-" and its name, beside the studies received
// (out of transfer.IncomingDir, if dir is in it, for staff to find). A
// folder of that name from an earlier refusal is kept: "-2", "-3"…
// follow. It returns the folder's new name.
func Quarantine(dir string) (string, error) {
	parent := filepath.Dir(dir)
	if filepath.Base(parent) == transfer.IncomingDir {
		defer os.Remove(parent) // once it holds no other study
		parent = filepath.Dir(parent)
	}
	base := filepath.Join(parent, "refused-"+filepath.Base(dir))
	to := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(to); errors.Is(err, fs.ErrNotExist) {
			break
		}
		if i > 100 {
			return "", fmt.Errorf("%s and 99 more exist", base)
		}
		to = fmt.Sprintf("%s-%d", base, i)
	}
	// A folder just checked may still be open to an antivirus on Windows.
	if err := atomicfile.RetryRename(func() error { return os.Rename(dir, to) }); err != nil {
		return "", err
	}
	return to, nil
}
