package send

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"imageshare/dicomweb"
	"imageshare/study"
)

// ErrPACS is a study that could not be taken from the PACS.
var ErrPACS = errors.New("cannot take the study from the PACS")

// PACS is the sending hospital's PACS, where a study can be looked up
// (QIDO-RS) and taken from (WADO-RS).
type PACS struct {
	// URL is its DICOMweb root, e.g. http://pacs:8042/dicom-web.
	URL string
	// CredentialsFile holds "user:password" for HTTP basic
	// authentication, if the PACS asks for it.
	CredentialsFile string
	// HTTPClient defaults to the dicomweb package's.
	HTTPClient *http.Client
}

// CredentialsError is a credentials file that cannot be used.
type CredentialsError struct{ Err error }

func (e *CredentialsError) Error() string { return e.Err.Error() }
func (e *CredentialsError) Unwrap() error { return e.Err }

// Client connects to the PACS, with the credentials from the file if any.
func (p PACS) Client() (*dicomweb.Client, error) {
	base, err := dicomweb.WithCredentials(p.URL, p.CredentialsFile)
	if err != nil {
		return nil, &CredentialsError{err}
	}
	return dicomweb.New(base, p.HTTPClient)
}

// Search lists the PACS's studies that match q.
func (p PACS) Search(ctx context.Context, q dicomweb.StudyQuery) ([]dicomweb.StudyMatch, error) {
	c, err := p.Client()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPACS, err)
	}
	matches, err := c.SearchStudies(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("%w: looking the study up: %w", ErrPACS, err)
	}
	return matches, nil
}

// Find looks up the one study that matches q: none is an ErrPACS, several
// a *PACSChoiceError listing them.
func (p PACS) Find(ctx context.Context, q dicomweb.StudyQuery) (dicomweb.StudyMatch, error) {
	matches, err := p.Search(ctx, q)
	if err != nil {
		return dicomweb.StudyMatch{}, err
	}
	switch len(matches) {
	case 0:
		what := "patient " + q.PatientID
		if q.StudyDate != "" {
			what += " on " + q.StudyDate
		}
		return dicomweb.StudyMatch{}, fmt.Errorf("%w: it has no study for %s", ErrPACS, what)
	case 1:
		return matches[0], nil
	}
	return dicomweb.StudyMatch{}, &PACSChoiceError{Query: q, Matches: matches}
}

// PACSChoiceError is a lookup that found several studies: staff pick one.
type PACSChoiceError struct {
	Query   dicomweb.StudyQuery
	Matches []dicomweb.StudyMatch
}

func (e *PACSChoiceError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the PACS has %d studies for patient %s", len(e.Matches), e.Query.PatientID)
	if e.Query.StudyDate != "" {
		fmt.Fprintf(&b, " on %s", e.Query.StudyDate)
	}
	b.WriteString("; say which with --study UID:")
	for _, m := range e.Matches {
		fmt.Fprintf(&b, "\n  %s  %s  %s  %s  %d instances  %s", m.StudyInstanceUID, study.FormatDate(m.StudyDate),
			strings.Join(m.ModalitiesInStudy, "/"), m.StudyDescription, m.NumberOfStudyRelatedInstances, study.FormatName(m.PatientName))
	}
	return b.String()
}

// Retrieve takes study uid from the PACS into the folder "pacs" of the
// staging folder by WADO-RS, one file a part, streamed to disk, and
// returns that folder and the number of instances. progress, if set, is
// called after each instance with the instances so far.
func (s *Staging) Retrieve(ctx context.Context, p PACS, uid string, progress func(n int)) (dir string, n int, err error) {
	c, err := p.Client()
	if err != nil {
		return "", 0, fmt.Errorf("%w: %w", ErrPACS, err)
	}
	if dir, err = s.Dir(); err != nil {
		return "", 0, fmt.Errorf("making the staging folder: %w", err)
	}
	dir = filepath.Join(dir, "pacs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", 0, err
	}
	files, err := c.RetrieveStudy(ctx, uid, dir, func(n int, _ int64) {
		if progress != nil {
			progress(n)
		}
	})
	if err != nil {
		return "", 0, fmt.Errorf("%w: %w", ErrPACS, err)
	}
	if len(files) == 0 {
		return "", 0, fmt.Errorf("%w: study %s has no instances", ErrPACS, uid)
	}
	return dir, len(files), nil
}
