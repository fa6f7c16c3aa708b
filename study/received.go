package study

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// Expected is a file that the summary shown to staff promised: its name in
// the study folder and, for a DICOM instance, the UIDs it must carry.
type Expected struct {
	Rel                                 string
	Kind                                Kind
	StudyUID, SeriesUID, SOPInstanceUID string
}

// A Mismatch is one way a received file differs from what was shown.
type Mismatch struct {
	File      string `json:"file"`      // its name in the study folder
	Attribute string `json:"attribute"` // e.g. "Patient ID (0010,0020)"
	Shown     string `json:"shown"`     // the value in the summary shown
	Found     string `json:"found"`     // the value in the file, or what is wrong with it
}

// MismatchError is CheckReceived refusing a study: its files are not what
// the summary shown to staff said they are. Error names the files and the
// attributes; the values, which identify patients, are in Mismatches.
type MismatchError struct {
	Mismatches []Mismatch
}

// ErrMismatch is what a *MismatchError wraps.
var ErrMismatch = errors.New("the received files do not match the study shown")

func (e *MismatchError) Error() string {
	files := map[string]bool{}
	var attrs []string
	for _, m := range e.Mismatches {
		files[m.File] = true
		if !slices.Contains(attrs, m.Attribute) {
			attrs = append(attrs, m.Attribute)
		}
	}
	first := e.Mismatches[0].File
	more := ""
	if len(files) > 1 {
		more = fmt.Sprintf(" and %d more", len(files)-1)
	}
	return fmt.Sprintf("%v: %s%s differ in %s", ErrMismatch, first, more, strings.Join(attrs, ", "))
}

func (e *MismatchError) Unwrap() error { return ErrMismatch }

// Attributes CheckReceived compares, as they are named in a Mismatch.
const (
	AttrPatientID   = "Patient ID (0010,0020)"
	AttrPatientName = "Patient's Name (0010,0010)"
	AttrBirthDate   = "Patient's Birth Date (0010,0030)"
	AttrSex         = "Patient's Sex (0010,0040)"
	AttrIssuer      = "Issuer of Patient ID (0010,0021)"
	AttrStudyUID    = "Study Instance UID (0020,000D)"
	AttrSeriesUID   = "Series Instance UID (0020,000E)"
	AttrSOPUID      = "SOP Instance UID (0008,0018)"
	AttrFile        = "the file itself"
)

// CheckReceived reads the header of every file in dir and checks it
// against the summaries shown (patient, birth date, sex, study) and the
// files promised (study, series and SOP Instance UIDs): a sender that lies
// in its manifest would have staff confirm one patient and file another.
// Files in dir that were not promised are not looked at. It returns a
// *MismatchError listing every difference, or nil.
func CheckReceived(ctx context.Context, dir string, shown []Summary, files []Expected) error {
	scan, err := ScanPaths(ctx, []string{dir}, ScanOptions{})
	if err != nil {
		return err
	}
	expected := make(map[string]Expected, len(files))
	for _, f := range files {
		expected[f.Rel] = f
	}
	var ms []Mismatch
	seen := map[string]bool{}
	for _, p := range scan.Problems {
		rel, err := filepath.Rel(dir, p.Path)
		if err != nil {
			continue
		}
		rel = filepath.ToSlash(rel)
		f, ok := expected[rel]
		switch {
		case !ok:
			continue
		case f.Kind == KindReport && errors.Is(p.Err, ErrNotDICOM):
		case f.Kind == KindReport:
			ms = append(ms, Mismatch{File: rel, Attribute: AttrFile, Shown: "a report", Found: "a DICOM file, or unreadable: " + p.Err.Error()})
		default:
			ms = append(ms, Mismatch{File: rel, Attribute: AttrFile, Shown: "an instance of the study shown", Found: p.Err.Error()})
		}
		seen[rel] = true
	}
	for _, st := range scan.Studies {
		i := slices.IndexFunc(shown, func(s Summary) bool { return s.StudyUID == st.Summary.StudyUID })
		var want *Summary
		if i >= 0 {
			want = &shown[i]
		}
		for _, file := range st.Files {
			f, ok := expected[file.Rel]
			if !ok {
				continue
			}
			seen[file.Rel] = true
			add := func(attr, shown, found string) {
				if strings.TrimSpace(shown) != strings.TrimSpace(found) {
					ms = append(ms, Mismatch{File: file.Rel, Attribute: attr, Shown: shown, Found: found})
				}
			}
			if f.Kind != KindDICOM {
				ms = append(ms, Mismatch{File: file.Rel, Attribute: AttrFile, Shown: "a report", Found: "a DICOM instance"})
				continue
			}
			add(AttrStudyUID, f.StudyUID, file.StudyUID)
			add(AttrSeriesUID, f.SeriesUID, file.SeriesUID)
			add(AttrSOPUID, f.SOPInstanceUID, file.SOPInstanceUID)
			if want == nil {
				ms = append(ms, Mismatch{File: file.Rel, Attribute: AttrStudyUID, Shown: "one of the studies shown", Found: file.StudyUID})
				continue
			}
			got := st.Summary
			add(AttrPatientID, want.PatientID, got.PatientID)
			add(AttrIssuer, want.IssuerOfPatientID, got.IssuerOfPatientID)
			add(AttrPatientName, want.PatientName, got.PatientName)
			add(AttrBirthDate, want.BirthDate, got.BirthDate)
			add(AttrSex, want.Sex, got.Sex)
		}
	}
	for _, f := range files {
		if !seen[f.Rel] {
			ms = append(ms, Mismatch{File: f.Rel, Attribute: AttrFile, Shown: "in the folder", Found: "missing"})
		}
	}
	if len(ms) == 0 {
		return nil
	}
	return &MismatchError{Mismatches: ms}
}
