package study

import (
	"errors"
	"fmt"
	"strings"
)

// Kind says what a file of an offer is.
type Kind string

// Kinds of file.
const (
	KindDICOM  Kind = "dicom"
	KindReport Kind = "report"
)

// File is one file of an offer.
type File struct {
	Path string // where it is on disk
	Rel  string // its relative name in the offer: slash-separated, clean, no "..", never absolute
	Size int64
	Kind Kind

	StudyUID, SeriesUID, SOPInstanceUID, SOPClassUID, TransferSyntaxUID, Modality string
}

// Summary is what staff read about a study before they send or receive it.
// It travels inside the wire manifest.
type Summary struct {
	PatientName       string   `json:"patient_name"` // DICOM PN as stored, e.g. "DOE^JOHN"
	PatientID         string   `json:"patient_id"`
	IssuerOfPatientID string   `json:"issuer_of_patient_id,omitempty"`
	BirthDate         string   `json:"birth_date"` // DICOM DA "YYYYMMDD" or ""
	Sex               string   `json:"sex"`        // "M", "F", "O" or ""
	StudyUID          string   `json:"study_uid"`
	StudyDate         string   `json:"study_date"`
	StudyTime         string   `json:"study_time,omitempty"`
	Description       string   `json:"description"`
	Accession         string   `json:"accession"`
	Institution       string   `json:"institution,omitempty"`
	Modalities        []string `json:"modalities"` // sorted, unique
	Series            []Series `json:"series"`     // sorted by series number, then UID
	Files             int      `json:"files"`      // DICOM instances in the study
	Bytes             int64    `json:"bytes"`
}

// Series summarises one series of a study.
type Series struct {
	UID         string `json:"uid"`
	Number      int    `json:"number"`
	Modality    string `json:"modality"`
	Description string `json:"description"`
	Images      int    `json:"images"`
	Bytes       int64  `json:"bytes"`
}

// Study is one study found on disk.
type Study struct {
	Summary Summary
	// Files are sorted by series number, series UID, instance number, then Rel.
	Files []File
}

// Scan is what ScanPaths found. Problems with individual files are collected
// here rather than failing the scan.
type Scan struct {
	Studies  []*Study     // sorted by patient name, patient ID, study date and time, then UID
	Problems []*FileError // sorted by path
	Skipped  []string     // dot files, Thumbs.db, desktop.ini, DICOMDIR, non-regular files, what a DICOMDIR does not list; sorted
	Media    []Media      // the DICOMDIRs followed, in the order of the paths
}

// Media is a medium read as its DICOMDIR says.
type Media struct {
	DICOMDIR string // its path
	Listed   int    // files it lists
	Unlisted int    // files of its folder it does not list, the DICOMDIR itself included: not read
}

// Errors wrapped by a FileError where they apply.
var (
	// ErrNotDICOM: the file is not DICOM (no "DICM" prefix and no DICOM
	// element at its start).
	ErrNotDICOM = errors.New("not a DICOM file")
	// ErrTruncated: the file ends before its data does, e.g. an element or
	// the pixel data runs past the end of the file.
	ErrTruncated = errors.New("truncated")
	// ErrMalformed: the file is DICOM, but its structure is broken: an
	// element longer than the item that holds it, an item where none
	// belongs, and the like.
	ErrMalformed = errors.New("malformed DICOM")
	// ErrOutsideRoot: the file is a symlink that leads out of the folder
	// or medium named, anywhere on the disk. It is not followed.
	ErrOutsideRoot = errors.New("a symlink that leads out of the folder named: not followed")
	// ErrMissingUID: the file lacks a Study or SOP Instance UID.
	ErrMissingUID = errors.New("missing UID")
	// ErrInvalidUID: a Study, Series or SOP Instance UID is not a UID
	// (digits and dots, at most 64 characters). A PACS refuses such a file.
	ErrInvalidUID = errors.New("invalid UID")
	// ErrDuplicate: another file of the study has the same SOP Instance UID.
	ErrDuplicate = errors.New("duplicate SOP Instance UID")
	// ErrOtherPatient: the file names another patient than the rest of its
	// study.
	ErrOtherPatient = errors.New("another patient")
)

// FileError is a problem with one file.
type FileError struct {
	Path string
	Err  error
}

var (
	_ error = (*FileError)(nil)
	_ error = (*AmbiguousError)(nil)
)

func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }

func (e *FileError) Unwrap() error { return e.Err }

// Errors returned by Select.
var (
	// ErrNoStudy: the scan found no DICOM study.
	ErrNoStudy = errors.New("no DICOM study found")
	// ErrUnknownStudy: a Study Instance UID given to Select is not in the scan.
	ErrUnknownStudy = errors.New("study not found")
)

// AmbiguousError is Select refusing to guess: several studies and nothing
// says which, or studies of more than one patient in one send.
type AmbiguousError struct {
	Studies          []*Study // the studies in question, in scan order
	MultiplePatients bool     // refused because the studies are of more than one patient
}

func (e *AmbiguousError) Error() string {
	var b strings.Builder
	patients := groupByPatient(e.Studies)
	if e.MultiplePatients {
		fmt.Fprintf(&b, "studies of %d patients found; a send carries one patient: pick one study with --study UID", len(patients))
	} else {
		fmt.Fprintf(&b, "%d studies found: pick one with --study UID, or send them all with --all-studies", len(e.Studies))
	}
	for _, p := range patients {
		s := p[0].Summary
		fmt.Fprintf(&b, "\n  patient %s, ID %s", FormatName(s.PatientName), orDash(s.PatientID))
		if s.IssuerOfPatientID != "" {
			fmt.Fprintf(&b, " (%s)", orDash(s.IssuerOfPatientID))
		}
		fmt.Fprintf(&b, ", born %s", FormatDate(s.BirthDate))
		for _, st := range p {
			s := st.Summary
			files := "files"
			if s.Files == 1 {
				files = "file"
			}
			fmt.Fprintf(&b, "\n    %s  %s  %s  %d %s", FormatDate(s.StudyDate), orDash(s.Description), orDash(s.StudyUID), s.Files, files)
		}
	}
	return b.String()
}

// patientKey is what makes two studies one patient's: the same ID, issuer,
// name and birth date. Names compare without trailing empty components, so
// "DOE^JOHN^^" is "DOE^JOHN".
func patientKey(s Summary) string {
	return s.PatientID + "\x00" + s.IssuerOfPatientID + "\x00" + normalName(s.PatientName) + "\x00" + s.BirthDate
}

func normalName(pn string) string {
	return strings.TrimRight(strings.TrimSpace(pn), "^= ")
}

// groupByPatient groups studies by patient, keeping the order in which each
// patient first appears.
func groupByPatient(studies []*Study) [][]*Study {
	var groups [][]*Study
	index := map[string]int{}
	for _, st := range studies {
		k := patientKey(st.Summary)
		i, ok := index[k]
		if !ok {
			i = len(groups)
			index[k] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], st)
	}
	return groups
}
