package send

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"imageshare/audit"
	icrypto "imageshare/crypto"
	"imageshare/spool"
	"imageshare/study"
	"imageshare/transfer"
)

// ReadOptions says which study to read, and from where.
type ReadOptions struct {
	// Paths are the folders and files to read (zips already staged).
	Paths []string
	// Staging, if set, names the files of an extracted zip by their name
	// in the zip.
	Staging *Staging
	// Studies picks studies by UID when the paths hold several;
	// AllStudies takes every one (they must be of one patient).
	Studies    []string
	AllStudies bool
	// Progress, if set, is called with the files read so far and their
	// total.
	Progress func(done, total int)
}

// Reading is a study read and checked, ready to pack.
type Reading struct {
	// Media are the DICOMDIRs followed.
	Media   []study.Media
	Studies []*study.Study
	// Files are the studies' files, in the order they are packed.
	Files []study.File
}

// Summaries are what the studies are, for staff and for Options.Studies.
func (r *Reading) Summaries() []study.Summary {
	s := make([]study.Summary, len(r.Studies))
	for i, st := range r.Studies {
		s[i] = st.Summary
	}
	return s
}

// ProblemsError refuses a study some of whose files cannot be sent. It
// is an ErrBadInput.
type ProblemsError struct {
	// Problems are the files, sorted by path, named as staff know them.
	Problems []*study.FileError
	// OnMedium says that a medium lacks files its DICOMDIR lists.
	OnMedium bool
}

func (e *ProblemsError) Error() string {
	return fmt.Sprintf("%v: %d file(s) cannot be sent", ErrBadInput, len(e.Problems))
}

func (e *ProblemsError) Is(target error) bool { return target == ErrBadInput }

// ReadStudy reads the paths and checks what is to be sent: every file
// must be DICOM and readable (else a *ProblemsError), and the studies one
// patient's (else a *study.AmbiguousError). A DICOMDIR that cannot be
// followed is an ErrBadInput wrapping a *study.DICOMDIRError. The Reading
// is returned with the error when the paths were read, for its Media.
func ReadStudy(ctx context.Context, o ReadOptions) (*Reading, error) {
	scan, err := study.ScanPaths(ctx, o.Paths, study.ScanOptions{Progress: o.Progress})
	var de *study.DICOMDIRError
	if errors.As(err, &de) {
		de.Path = o.Staging.Shown(de.Path)
		return nil, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	if err != nil {
		return nil, err
	}
	r := &Reading{}
	for _, m := range scan.Media {
		m.DICOMDIR = o.Staging.Shown(m.DICOMDIR)
		r.Media = append(r.Media, m)
	}
	if len(scan.Problems) > 0 {
		pe := &ProblemsError{}
		for _, p := range scan.Problems {
			pe.OnMedium = pe.OnMedium || errors.Is(p, study.ErrNotOnMedium)
			pe.Problems = append(pe.Problems, &study.FileError{Path: o.Staging.Shown(p.Path), Err: p.Err})
		}
		return r, pe
	}
	if r.Studies, err = study.Select(scan, o.Studies, o.AllStudies); err != nil {
		return r, err
	}
	for _, s := range r.Studies {
		r.Files = append(r.Files, s.Files...)
	}
	return r, nil
}

// AttachReport adds the report at path (a PDF or a text file) to the
// files. A text report not in UTF-8 goes as a UTF-8 copy, made in the
// staging folder and removed with it; from then names the encoding it
// was read as.
func AttachReport(files []study.File, path string, st *Staging) (_ []study.File, from string, err error) {
	dir, err := st.Dir()
	if err != nil {
		return nil, "", fmt.Errorf("making the staging folder for the report: %w", err)
	}
	r, from, err := study.Report(path, filepath.Join(dir, "report"))
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	for _, f := range files {
		if f.Rel == r.Rel {
			r.Rel = "report-" + r.Rel
		}
	}
	return append(files, r), from, nil
}

// CheckChosenPasscode refuses a passcode chosen by staff that a card
// holder could guess: too few letters and digits, or other characters.
// A passcode made by the crypto package always passes.
func CheckChosenPasscode(p string) error {
	norm, err := icrypto.NormalizePasscode(p)
	if err != nil {
		return err
	}
	if len(norm) < icrypto.MinChosenPasscode {
		return fmt.Errorf("the passcode has %d letters or digits; it needs at least %d", len(norm), icrypto.MinChosenPasscode)
	}
	return nil
}

// Revoke ends an offer now: its card stops working and its encrypted data
// is deleted (by whoever serves the spool, at its next look). The trail
// records who revoked it.
func Revoke(sp *spool.Spool, id transfer.OfferID, trail *audit.Trail) (*spool.Record, error) {
	r, err := sp.Revoke(id)
	if err != nil {
		return nil, err
	}
	trail.Record(audit.OfferRevoked(audit.Local("sender", r.Site), Subject(r)))
	return r, nil
}

// Unlock lets an offer locked after too many failed proofs serve its card
// again, with a fresh budget; the trail records it.
func Unlock(sp *spool.Spool, id transfer.OfferID, trail *audit.Trail) (*spool.Record, error) {
	r, err := sp.Unlock(id)
	if err != nil {
		return nil, err
	}
	trail.Record(audit.OfferUnlocked(audit.Local("sender", r.Site), Subject(r)))
	return r, nil
}
