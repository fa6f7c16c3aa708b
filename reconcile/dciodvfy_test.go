package reconcile

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"imageshare/internal/testenv"
)

// TestCoerceDciodvfy checks reconciled copies with dciodvfy (dicom3tools),
// which knows every IOD and module: a copy has no error the original did
// not have. The copies: a CT slice with the sender's issuers and requests
// added, a Latin-1 file given a Latin-1 name, the same file given a name
// only UTF-8 holds (converted), in explicit and implicit VR, and a file
// without header made Part 10.
func TestCoerceDciodvfy(t *testing.T) {
	bin, err := exec.LookPath("dciodvfy")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("dciodvfy (Debian dicom3tools) is not installed: %v", err)
		}
		t.Fatalf("dciodvfy (Debian dicom3tools) is not installed, and CI must run this test: %v", err)
	}
	tool(t, "dcmodify")
	shared := testenv.SharedDICOM(t)
	dir := t.TempDir()

	// The sender's issuers and a request, as a sender that has them
	// writes them.
	ct := filepath.Join(dir, "ct-issuers.dcm")
	writeFile(t, ct, readFile(t, filepath.Join(shared, "ct-pancreas", "CT_series", "1-001.dcm")))
	run(t, "dcmodify", "-nb", "-i", "(0010,0021)=SENDER-HOSP",
		"-i", "(0010,0024)[0].(0040,0032)=2.16.840.1.113883.3.9999.1",
		"-i", "(0010,0024)[0].(0040,0033)=ISO",
		"-i", "(0008,0050)=SENDER-ACC",
		"-i", "(0008,0051)[0].(0040,0031)=SENDER-RIS",
		"-i", "(0040,0275)[0].(0008,0050)=SENDER-ACC",
		"-i", "(0040,0275)[0].(0008,0051)[0].(0040,0031)=SENDER-RIS",
		"-i", "(0040,0275)[0].(0040,1001)=RP1",
		"-i", "(0040,0275)[0].(0032,1060)=CT ABDOMEN",
		ct)

	latin1 := "format-zoo/cornerstone-dicomParser/testImages/CT1_UNC.explicit_little_endian.dcm"
	latin1Implicit := "format-zoo/cornerstone-dicomParser/testImages/CT1_UNC.implicit_little_endian.dcm"
	full := testChanges
	full.PatientBirthDate, full.PatientSex = "19691231", "O"
	full.PatientName = "MÜLLER^JÖRG"
	tests := []struct {
		name, path string
		c          Changes
		check      string // a line dcmdump must print of the copy
	}{
		{"issuers", ct, full, "(0010,1002) SQ"},
		{"latin-1 name", filepath.Join(shared, latin1), Changes{PatientName: "MÜLLER^JÖRG", PatientID: "MRN-Ü1"}, "(0008,0005) CS [ISO_IR 100]"},
		{"converted to UTF-8", filepath.Join(shared, latin1), Changes{PatientName: "王^小明", PatientID: "MRN1", IssuerOfPatientID: "TRAUMA-CENTER"}, "(0008,0005) CS [ISO_IR 192]"},
		{"converted to UTF-8, implicit VR", filepath.Join(shared, "format-zoo/pydicom-data/data/gdcm-US-ALOKA-16.dcm"), Changes{PatientName: "Ωμέγα^Α", AccessionNumber: "A-1"}, "(0008,0005) CS [ISO_IR 192]"},
		{"converted to UTF-8, implicit VR, no character set", filepath.Join(shared, "ct-pancreas/CT_series/1-001.dcm"), full, "(0008,0005) CS [ISO_IR 192]"},
		{"converted to UTF-8, big endian", filepath.Join(shared, "format-zoo/dcm_qa_ts/In/3.dcm"), Changes{PatientName: "王^小明", AccessionNumber: "A-1"}, "(0008,0005) CS [ISO_IR 192]"},
		{"deflated", filepath.Join(shared, "format-zoo/cornerstone-dicomParser/testImages/deflate/report_dfl"), full, "(0010,0020) LO [MRN-LOCAL-1]"},
		{"made Part 10", filepath.Join(shared, "format-zoo/pydicom-data/data/OT-PAL-8-face.dcm"), Changes{}, "(0002,0013) SH [IMAGESHARE]"},
		{"made Part 10, changed", filepath.Join(shared, "format-zoo/pydicom-data/data/OT-PAL-8-face.dcm"), full, "(0002,0010) UI =LittleEndianImplicit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := coerce(t, readFile(t, tt.path), tt.c, testMod)
			if err != nil {
				t.Fatalf("Coerce: %v", err)
			}
			p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".dcm")
			writeFile(t, p, out)
			stdout, _ := run(t, "dcmdump", "+fo", p)
			if !strings.Contains(stdout, tt.check) {
				t.Errorf("dcmdump of the copy lacks %q", tt.check)
			}
			before, after := errorLines(t, bin, tt.path), errorLines(t, bin, p)
			for _, l := range after {
				if !slices.Contains(before, l) {
					t.Errorf("dciodvfy finds in the copy: %s", l)
				}
			}
			t.Logf("dciodvfy: %d error lines in the original, %d in the copy", len(before), len(after))
		})
	}
	// An implicit VR file with private values that are not ASCII: their VR
	// is unknown, they may be text, and the conversion is refused.
	_, err = coerce(t, readFile(t, filepath.Join(shared, latin1Implicit)), Changes{PatientName: "王^小明"}, testMod)
	if err == nil || !strings.Contains(err.Error(), "element (0009,1027) at byte 870 has a value of unknown VR that is not ASCII") {
		t.Errorf("Coerce of an implicit VR file with private values not ASCII, to UTF-8: %v", err)
	}
}

// errorLines runs dciodvfy on a file and returns the lines of its output
// that report an error.
func errorLines(t *testing.T, bin, path string) []string {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(bin, path)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("dciodvfy %s: %v", path, err)
		}
	}
	var errs []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "Error") {
			errs = append(errs, l)
		}
	}
	return errs
}
