package reconcile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"imageshare/internal/testenv"

	"imageshare/internal/dataset"
)

// FuzzCoerce feeds Coerce any bytes. It must never panic; what it accepts
// with changes it must accept again from its own output; what it accepts
// without changes it must copy byte for byte, after the header it adds to
// a file without one, which NeedsRewrite must have said. Seeds: small
// files of each encoding made here, with and without their header, and
// the small real files of the shared data when it is there.
func FuzzCoerce(f *testing.F) {
	seeds := 0
	for _, sx := range syntaxes {
		for _, o := range []syntheticOptions{{}, {oas: "undefined", groupLengths: true, unSequence: true}, {absent: true, oas: "defined", padding: 8}} {
			file := syntheticFile(f, sx.ts, sx.uid, o)
			f.Add(file)
			seeds++
			if !sx.ts.Deflated && sx.ts.ByteOrder == dataset.ExplicitLE.ByteOrder {
				end := 132 + 12 + int(dataset.ExplicitLE.ByteOrder.Uint32(file[140:]))
				f.Add(file[end:]) // the data set alone
				f.Add(file[128:]) // "DICM" missing
				seeds += 2
			}
		}
	}
	var pdf, sr bytes.Buffer
	ref := StudyRef{StudyInstanceUID: "1.2.3", PatientID: "P1", PatientName: "DOE^J"}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if _, err := EncapsulatedPDF(&pdf, ref, []byte("%PDF-1.4\n%%EOF\n"), ReportOptions{Title: "t", Time: now}); err != nil {
		f.Fatal(err)
	}
	if _, err := BasicTextSR(&sr, ref, "text", ReportOptions{Title: "t", Time: now}); err != nil {
		f.Fatal(err)
	}
	f.Add(pdf.Bytes())
	f.Add(sr.Bytes())
	seeds += 2
	// The shared data, if it is there (sharedDICOM fails under CI if not).
	if os.Getenv("CI") != "" || dirExists(filepath.Join("..", "..", "shared", "dicom")) {
		for _, rel := range []string{
			"format-zoo/cornerstone-dicomParser/testImages/deflate/report_dfl",
			"format-zoo/dcmqi/segmentations/23x38x3/image/IMG0001.dcm",
			"format-zoo/dcmqi/segmentations/23x38x3/multiframe/mf.dcm",
			"format-zoo/pydicom-data/data/JLSL_08_07_0_1F.dcm",
			"format-zoo/pydicom-data/data/liver_deflate.dcm",
			"format-zoo/pydicom-data/data/liver_j2k.dcm",
		} {
			f.Add(readFile(f, filepath.Join(testenv.SharedDICOM(f), rel)))
			seeds++
		}
	}
	if seeds == 0 {
		f.Fatal("no seeds")
	}
	c := Changes{PatientID: "MRN1", AccessionNumber: "ACC1", PatientName: "A^B", IssuerOfPatientID: "HOSP"}
	m := Modification{Time: now, Source: "Süd"}
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		if err := Coerce(bytes.NewReader(data), &out, c, m); err == nil {
			var again bytes.Buffer
			if err := Coerce(bytes.NewReader(out.Bytes()), &again, Changes{PatientID: "MRN2"}, m); err != nil {
				t.Fatalf("Coerce accepts the input but not its own output: %v", err)
			}
		}
		out.Reset()
		need, needErr := NeedsRewrite(bytes.NewReader(data))
		err := Coerce(bytes.NewReader(data), &out, Changes{}, m)
		switch {
		case err == nil && needErr != nil:
			t.Fatalf("Coerce accepts what NeedsRewrite refuses: %v", needErr)
		case err == nil && !need && !bytes.Equal(out.Bytes(), data):
			t.Fatalf("Coerce with no change wrote %d bytes different from the %d read", out.Len(), len(data))
		case err == nil && need && (!bytes.HasSuffix(out.Bytes(), data) || len(out.Bytes()) < 132 || string(out.Bytes()[128:132]) != "DICM"):
			t.Fatalf("Coerce with no change of a file without header wrote more than a header and the file")
		}
	})
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
