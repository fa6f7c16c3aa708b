package main

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
	"imageshare/console"
	"imageshare/dicomweb"
	"imageshare/internal/atomicfile"
	"imageshare/study"
	"imageshare/transfer"
)

// receivedName is where a fetched study's folder keeps what was shown to
// staff and what the files are: receiver import reads it to store the
// folder as the fetch would have, with its report, its site and its offer.
// It is hidden, so that a folder-watching PACS import skips it.
const receivedName = ".imageshare/received.json"

// receivedRecord is the content of receivedName.
type receivedRecord struct {
	Version  int             `json:"version"`
	OfferID  string          `json:"offer_id"`
	Site     string          `json:"site,omitempty"`
	Received time.Time       `json:"received"`
	Studies  []study.Summary `json:"studies"`
	Files    []receivedFile  `json:"files"`
}

type receivedFile struct {
	Path      string     `json:"path"`
	Kind      study.Kind `json:"kind"`
	StudyUID  string     `json:"study_uid,omitempty"`
	SeriesUID string     `json:"series_uid,omitempty"`
	SOP       string     `json:"sop_instance_uid,omitempty"`
}

// maxReceived bounds the record read back: a manifest's files, without
// its chunks.
const maxReceived = 256 << 20

func newReceivedRecord(m *transfer.Manifest) *receivedRecord {
	r := &receivedRecord{Version: 1, OfferID: m.OfferID, Site: m.Site, Received: time.Now().UTC(), Studies: m.Studies}
	for _, f := range m.Files {
		r.Files = append(r.Files, receivedFile{Path: f.Path, Kind: f.Kind, StudyUID: f.StudyUID, SeriesUID: f.Series, SOP: f.SOP})
	}
	return r
}

// write saves the record in the study folder dir, complete or not at all.
func (r *receivedRecord) write(dir string) error {
	b, err := json.MarshalIndent(r, "", "\t")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, filepath.FromSlash(receivedName))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o600)
}

// readReceivedRecord reads the record of the study folder dir; nil and no
// error if there is none (a folder saved by an older receiver).
func readReceivedRecord(dir string) (*receivedRecord, error) {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(receivedName)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxReceived+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxReceived {
		return nil, fmt.Errorf("%s is over %d MiB", receivedName, maxReceived>>20)
	}
	var r receivedRecord
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%s in %s: %w", receivedName, dir, err)
	}
	if r.Version != 1 || len(r.Studies) == 0 {
		return nil, fmt.Errorf("%s in %s: version %d with %d studies is not one this receiver reads", receivedName, dir, r.Version, len(r.Studies))
	}
	for _, f := range r.Files {
		if err := study.CheckName(f.Path); err != nil {
			return nil, fmt.Errorf("%s in %s: %w", receivedName, dir, err)
		}
	}
	return &r, nil
}

// expected is what the record promises of each file.
func (r *receivedRecord) expected() []study.Expected {
	out := make([]study.Expected, len(r.Files))
	for i, f := range r.Files {
		out[i] = study.Expected{Rel: f.Path, Kind: f.Kind, StudyUID: f.StudyUID, SeriesUID: f.SeriesUID, SOPInstanceUID: f.SOP}
	}
	return out
}

// input is the folder dir to import, as the record describes it.
func (r *receivedRecord) input(dir string) *importInput {
	in := &importInput{dir: dir, studies: r.Studies, site: r.Site, offerID: r.OfferID}
	for _, f := range r.Files {
		path := filepath.Join(dir, filepath.FromSlash(f.Path))
		if f.Kind == study.KindReport {
			in.report = path
			continue
		}
		in.files = append(in.files, importFile{rel: f.Path, studyUID: f.StudyUID, Instance: dicomweb.Instance{Path: path, SOPInstanceUID: f.SOP}})
	}
	return in
}

// folderInput reads a study folder as receiver fetch saved it. With its
// record, the files must still be what the fetch showed staff (every
// header is read again). Without one, it is scanned: every study in it,
// of one patient, and at most one file that is not DICOM, the report.
func folderInput(ctx context.Context, dir string) (*importInput, error) {
	rec, err := readReceivedRecord(dir)
	if err != nil {
		return nil, err
	}
	if rec != nil {
		if err := study.CheckReceived(ctx, dir, rec.Studies, rec.expected()); err != nil {
			return nil, err
		}
		return rec.input(dir), nil
	}
	scan, err := study.ScanPaths(ctx, []string{dir}, study.ScanOptions{})
	if err != nil {
		return nil, err
	}
	in := &importInput{dir: dir}
	for _, p := range scan.Problems {
		rel, _ := filepath.Rel(dir, p.Path)
		if errors.Is(p.Err, study.ErrNotDICOM) && !strings.ContainsRune(filepath.ToSlash(rel), '/') && looksLikeReport(p.Path) {
			if in.report != "" {
				return nil, fmt.Errorf("%s holds two files that may be the report, %s and %s: keep one", dir, filepath.Base(in.report), rel)
			}
			in.report = p.Path
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
		in.studies = append(in.studies, st.Summary)
		for _, f := range st.Files {
			in.files = append(in.files, importFile{rel: f.Rel, studyUID: f.StudyUID, Instance: dicomweb.Instance{Path: f.Path, SOPInstanceUID: f.SOPInstanceUID, SOPClassUID: f.SOPClassUID}})
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

// manifestExpected is what the manifest promises of each file.
func manifestExpected(m *transfer.Manifest) []study.Expected {
	out := make([]study.Expected, len(m.Files))
	for i, f := range m.Files {
		out[i] = study.Expected{Rel: f.Path, Kind: f.Kind, StudyUID: f.StudyUID, SeriesUID: f.Series, SOPInstanceUID: f.SOP}
	}
	return out
}

// reportMismatch tells staff, the audit trail and a script that the files
// are not the study that was shown: each file and attribute, with the
// value shown and the one found.
func reportMismatch(o *fetchOptions, stderr io.Writer, js *console.JSON, e *study.MismatchError, me, from audit.Participant, offerID string) {
	fmt.Fprintln(stderr, "receiver: REFUSED: the files received are not the study that was shown; they may be another patient's. Nothing goes to the PACS.")
	for i, m := range e.Mismatches {
		if i == 20 && len(e.Mismatches) > 25 {
			fmt.Fprintf(stderr, "  ... and %d more (all in --json)\n", len(e.Mismatches)-i)
			break
		}
		fmt.Fprintf(stderr, "  %s: %s is %s in the file, %s in the summary shown\n", m.File, m.Attribute, quoteValue(m.Found), quoteValue(m.Shown))
	}
	fmt.Fprintln(stderr, "hint: call the sending hospital, and tell your security officer: the card may be forged")
	o.trail.Record(audit.SecurityAlert(audit.AlertContentMismatch, me, from, offerID, e.Error()))
	js.Emit(map[string]any{"type": "mismatch", "mismatches": e.Mismatches})
}

// quoteValue quotes a value from a file for the terminal: %q escapes
// control and bidirectional-override characters.
func quoteValue(s string) string {
	return fmt.Sprintf("%q", s)
}

// quarantine renames the study folder dir so that no folder-watching
// import takes it in: "refused-" and its name, beside the studies received
// (out of transfer.IncomingDir, if dir is in it, for staff to find).
// A folder of that name from an earlier refusal is kept: "-2", "-3"…
// follow.
func quarantine(dir string) (string, error) {
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
	if err := os.Rename(dir, to); err != nil {
		return "", err
	}
	return to, nil
}
