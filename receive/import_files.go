package receive

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"imageshare/dicomweb"
	"imageshare/internal/atomicfile"
	"imageshare/reconcile"
	"imageshare/study"
)

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

// coerceFile writes a reconciled copy of src to dst, complete or not at
// all: Coerce may fail after part of the copy is written.
func coerceFile(src, dst string, c reconcile.Changes, m reconcile.Modification) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFrom(dst, 0o600, func(out io.Writer) error {
		w := bufio.NewWriterSize(out, 1<<20)
		if err := reconcile.Coerce(bufio.NewReaderSize(in, 1<<20), w, c, m); err != nil {
			return err
		}
		return w.Flush()
	})
}

// maxReport bounds the report read into memory to wrap it in DICOM.
const maxReport = 64 << 20

// reportInstance wraps the report in a DICOM instance of the first study:
// a PDF as Encapsulated PDF, text as a Basic Text SR. Its UIDs derive from
// the offer and the report's bytes, so that importing the same folder
// again replaces the report rather than adding a second one; its General
// Study module repeats that of the study's images. It returns the
// instance, written in work, and how the report was stored.
func reportInstance(in *ImportInput, work string, c reconcile.Changes) (*ImportFile, string, error) {
	path := in.Report
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
	s := in.Studies[0]
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
	for _, f := range in.Files {
		if f.StudyUID != s.StudyUID {
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
	if in.Site != "" {
		title = "Report from " + in.Site
	}
	key := in.OfferID
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
	if err := atomicfile.Write(out, buf.Bytes(), 0o600); err != nil {
		return nil, "", err
	}
	return &ImportFile{StudyUID: s.StudyUID, Instance: dicomweb.Instance{Path: out, SOPInstanceUID: inst.SOPInstanceUID, SOPClassUID: inst.SOPClassUID}}, how, nil
}
