package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"imageshare/console"
	"imageshare/dicomweb"
	"imageshare/study"
)

// pacsSource says which study to take from the sending hospital's PACS.
type pacsSource struct {
	url             string // --from-dicomweb: the PACS's DICOMweb root
	credentialsFile string // --dicomweb-credentials: "user:password"
	patientID       string // --patient-id, to look the study up (QIDO-RS)
	studyDate       string // --study-date, YYYYMMDD or a range YYYYMMDD-YYYYMMDD
}

// errPACS: the study could not be taken from the PACS.
var errPACS = errors.New("cannot take the study from the PACS")

// check refuses a PACS source that cannot work, before anything is done.
func (p *pacsSource) check(o *sendOptions) error {
	if p.url == "" {
		if p.patientID != "" || p.studyDate != "" || p.credentialsFile != "" {
			return &usageError{"--patient-id, --study-date and --dicomweb-credentials go with --from-dicomweb URL"}
		}
		return nil
	}
	if len(o.paths) > 0 {
		return &usageError{"give either a folder, files or a zip, or --from-dicomweb: not both"}
	}
	if err := dicomweb.CheckRoot(p.url); err != nil {
		return &usageError{"--from-dicomweb: " + err.Error()}
	}
	if len(o.studies) > 1 || o.allStudies {
		return &usageError{"--from-dicomweb takes one study: give one --study UID"}
	}
	if len(o.studies) == 0 && p.patientID == "" {
		return &usageError{"--from-dicomweb needs the study: --study UID, or --patient-id ID (and --study-date DATE) to look it up"}
	}
	return nil
}

// client connects to the PACS, with the credentials from the file if any.
func (p *pacsSource) client() (*dicomweb.Client, error) {
	base, err := dicomweb.WithCredentials(p.url, p.credentialsFile)
	if err != nil {
		return nil, fmt.Errorf("--dicomweb-credentials: %w", err)
	}
	return dicomweb.New(base, nil)
}

// pacsChoiceError is a lookup that found several studies: staff pick one
// with --study.
type pacsChoiceError struct {
	query   dicomweb.StudyQuery
	matches []dicomweb.StudyMatch
}

func (e *pacsChoiceError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the PACS has %d studies for patient %s", len(e.matches), e.query.PatientID)
	if e.query.StudyDate != "" {
		fmt.Fprintf(&b, " on %s", e.query.StudyDate)
	}
	b.WriteString("; say which with --study UID:")
	for _, m := range e.matches {
		fmt.Fprintf(&b, "\n  %s  %s  %s  %s  %d instances  %s", m.StudyInstanceUID, study.FormatDate(m.StudyDate),
			strings.Join(m.ModalitiesInStudy, "/"), m.StudyDescription, m.NumberOfStudyRelatedInstances, study.FormatName(m.PatientName))
	}
	return b.String()
}

// retrieve takes the study from the PACS into dir by WADO-RS, one file a
// part, streamed to disk.
func (p *pacsSource) retrieve(ctx context.Context, o *sendOptions, dir string, stderr io.Writer, showProgress bool) error {
	c, err := p.client()
	if err != nil {
		return fmt.Errorf("%w: %w", errPACS, err)
	}
	var uid string
	expect := 0
	if len(o.studies) == 1 {
		uid = o.studies[0]
	} else {
		q := dicomweb.StudyQuery{PatientID: p.patientID, StudyDate: p.studyDate}
		matches, err := c.SearchStudies(ctx, q)
		if err != nil {
			return fmt.Errorf("%w: looking the study up: %w", errPACS, err)
		}
		switch len(matches) {
		case 0:
			what := "patient " + p.patientID
			if p.studyDate != "" {
				what += " on " + p.studyDate
			}
			return fmt.Errorf("%w: it has no study for %s", errPACS, what)
		case 1:
			uid, expect = matches[0].StudyInstanceUID, matches[0].NumberOfStudyRelatedInstances
		default:
			return &pacsChoiceError{query: q, matches: matches}
		}
	}
	// The study was picked here: the scan of dir must not pick again.
	o.studies = nil
	fmt.Fprintf(stderr, "sender: retrieving study %s from the PACS ...\n", uid)
	bar := console.NewCounter(stderr, int64(expect), "retrieving", "instances", showProgress && expect > 0)
	files, err := c.RetrieveStudy(ctx, uid, dir, func(n int, _ int64) { bar.Set(int64(n)) })
	bar.Finish()
	if err != nil {
		return fmt.Errorf("%w: %w", errPACS, err)
	}
	if len(files) == 0 {
		return fmt.Errorf("%w: study %s has no instances", errPACS, uid)
	}
	fmt.Fprintf(stderr, "sender: retrieved %d instances from the PACS\n", len(files))
	return nil
}

// stagePACS makes the staging folder and retrieves the study into it.
func stagePACS(ctx context.Context, o *sendOptions, s *sources, stagingRoot string, stderr io.Writer, showProgress bool) error {
	if err := s.makeStaging(stagingRoot); err != nil {
		return fmt.Errorf("making the staging folder: %w", err)
	}
	study := filepath.Join(s.staging, "pacs")
	if err := os.Mkdir(study, 0o700); err != nil {
		return err
	}
	if err := o.pacs.retrieve(ctx, o, study, stderr, showProgress); err != nil {
		return err
	}
	s.paths = []string{study}
	return nil
}
