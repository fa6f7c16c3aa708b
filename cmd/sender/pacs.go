package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"imageshare/console"
	"imageshare/dicomweb"
	"imageshare/send"
)

// pacsSource says which study to take from the sending hospital's PACS.
type pacsSource struct {
	url             string // --from-dicomweb: the PACS's DICOMweb root
	credentialsFile string // --dicomweb-credentials: "user:password"
	patientID       string // --patient-id, to look the study up (QIDO-RS)
	studyDate       string // --study-date, YYYYMMDD or a range YYYYMMDD-YYYYMMDD
}

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

// retrieve takes the study from the PACS into the staging folder by
// WADO-RS (package send), looking it up first by patient ID and date when
// its UID is not given, and returns the folder it is in.
func (p *pacsSource) retrieve(ctx context.Context, o *sendOptions, st *send.Staging, stderr io.Writer, showProgress bool) (string, error) {
	pacs := send.PACS{URL: p.url, CredentialsFile: p.credentialsFile}
	if _, err := pacs.Client(); err != nil {
		if ce := (*send.CredentialsError)(nil); errors.As(err, &ce) {
			err = fmt.Errorf("--dicomweb-credentials: %w", ce.Err)
		}
		return "", fmt.Errorf("%w: %w", send.ErrPACS, err)
	}
	var uid string
	expect := 0
	if len(o.studies) == 1 {
		uid = o.studies[0]
	} else {
		m, err := pacs.Find(ctx, dicomweb.StudyQuery{PatientID: p.patientID, StudyDate: p.studyDate})
		if err != nil {
			return "", err
		}
		uid, expect = m.StudyInstanceUID, m.NumberOfStudyRelatedInstances
	}
	// The study was picked here: the scan of its folder must not pick again.
	o.studies = nil
	fmt.Fprintf(stderr, "sender: retrieving study %s from the PACS ...\n", uid)
	bar := console.NewCounter(stderr, int64(expect), "retrieving", "instances", showProgress && expect > 0)
	dir, n, err := st.Retrieve(ctx, pacs, uid, func(n int) { bar.Set(int64(n)) })
	bar.Finish()
	if err != nil {
		return "", err
	}
	fmt.Fprintf(stderr, "sender: retrieved %d instances from the PACS\n", n)
	return dir, nil
}
