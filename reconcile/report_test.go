package reconcile

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"imageshare/study"
)

var (
	testRef = StudyRef{
		StudyInstanceUID: "1.2.826.0.1.3680043.8.498.1", PatientName: "TRAUMA^ALPHA", PatientID: "MRN-LOCAL-1",
		IssuerOfPatientID: "TRAUMA-CENTER", PatientBirthDate: "19700101", PatientSex: "M",
		StudyDate: "20261128", StudyTime: "0915", AccessionNumber: "ACC-LOCAL-1", StudyID: "1",
		ReferringPhysicianName: "HOUSE^G",
	}
	testNow = time.Date(2026, 11, 28, 10, 15, 30, 0, time.FixedZone("CET", 3600))
)

// testPDF is a small PDF of n bytes.
func testPDF(n int) []byte {
	b := []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n")
	for len(b) < n-6 {
		b = append(b, '%')
	}
	b = append(b, "\n%%EOF"...)
	return b[:n]
}

// TestEncapsulatedPDF writes PDFs of odd and even length and reads them
// back with dcmtk: the instance parses without a warning, belongs to the
// study and the patient, and gives back the PDF byte for byte.
func TestEncapsulatedPDF(t *testing.T) {
	tool(t, "dcm2pdf")
	// A patient's name and a title in ASCII, or not.
	for i, names := range [][2]string{{"TRAUMA^ALPHA", "Report from Hospital A"}, {"MÜLLER^JÜRGEN", "Report from Klinikum Süd"}} {
		dir := filepath.Join(t.TempDir(), itoa(i))
		name, title := names[0], names[1]
		for _, n := range []int{101, 102} {
			ref := testRef
			ref.PatientName = name
			pdf := testPDF(n)
			var b bytes.Buffer
			inst, err := EncapsulatedPDF(&b, ref, pdf, title, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if inst.SOPClassUID != SOPClassEncapsulatedPDF || !uidPattern.MatchString(inst.SOPInstanceUID) || !uidPattern.MatchString(inst.SeriesInstanceUID) {
				t.Errorf("instance %+v", inst)
			}
			p := filepath.Join(dir, inst.SOPInstanceUID+".dcm")
			writeFile(t, p, b.Bytes())
			d, warnings := dcmdump(t, p)
			if warnings != "" {
				t.Errorf("dcmdump warns:\n%s", warnings)
			}
			charset := ""
			if !isASCII(name) {
				charset = "ISO_IR 192"
			}
			for tag, v := range map[string]string{
				"0008,0005": charset, "0008,0016": "=EncapsulatedPDFStorage", "0008,0018": inst.SOPInstanceUID,
				"0008,0060": "DOC", "0008,0064": "WSD", "0008,0070": "imageshare", "0028,0301": "YES",
				"0010,0010": name, "0010,0020": ref.PatientID, "0010,0021": ref.IssuerOfPatientID,
				"0020,000d": ref.StudyInstanceUID, "0020,000e": inst.SeriesInstanceUID, "0008,0050": ref.AccessionNumber,
				"0020,0011": "999", "0020,0013": "1", "0042,0010": title, "0008,103e": title,
				"0042,0012": "application/pdf", "0008,002a": "20261128101530.000000+0100", "0008,0201": "+0100",
			} {
				if got, _ := d.text(tag); got != v {
					t.Errorf("(%s) = %q, want %q", tag, got, v)
				}
			}
			for _, tag := range []string{"0008,0020", "0008,0030", "0008,0090", "0020,0010", "0010,0030", "0010,0040", "0008,0023", "0008,0033", "0040,a043"} {
				if d.get(tag) == nil {
					t.Errorf("no (%s), a Type 1 or 2 attribute", tag)
				}
			}
			if v, _ := d.text("0042,0015"); v != strings.TrimSpace(itoa(n)) {
				t.Errorf("Encapsulated Document Length %q, want %d", v, n)
			}
			out := p + ".pdf"
			run(t, "dcm2pdf", p, out)
			got := readFile(t, out)
			if !bytes.Equal(got, pdf) && !bytes.Equal(got, append(bytes.Clone(pdf), 0)) {
				t.Errorf("dcm2pdf gives back %d bytes, not the PDF of %d", len(got), n)
			}
			if n%2 == 1 && !bytes.Contains(b.Bytes(), append(bytes.Clone(pdf), 0)) {
				t.Errorf("the PDF of odd length is not padded with a 0x00")
			}
		}
		checkStudyReads(t, dir, 2)
	}
}

// TestBasicTextSR writes reports in ASCII and in other scripts and reads
// them back with dcmtk's SR reader.
func TestBasicTextSR(t *testing.T) {
	tool(t, "dsrdump")
	dir := t.TempDir()
	texts := map[string]string{
		"ascii":  "CT head: no acute haemorrhage.\r\nNo fracture.",
		"odd":    "Odd.",
		"utf-8":  "Befund: kein Nachweis einer Blutung. Schädel unauffällig. 頭部CT：異常なし",
		"bom":    "\uFEFFText saved by Notepad.",
		"long":   strings.Repeat("A line of a long report.\n", 4000),
		"spaces": "  indented\ttext  ",
	}
	for name, text := range texts {
		t.Run(name, func(t *testing.T) {
			title := "Report from Hospital A"
			if name == "utf-8" {
				title = "Report from Klinikum Süd"
			}
			var b bytes.Buffer
			inst, err := BasicTextSR(&b, testRef, text, title, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if inst.SOPClassUID != SOPClassBasicTextSR {
				t.Errorf("SOP class %s", inst.SOPClassUID)
			}
			p := filepath.Join(dir, name+".dcm")
			writeFile(t, p, b.Bytes())
			d, warnings := dcmdump(t, p)
			if warnings != "" {
				t.Errorf("dcmdump warns:\n%s", warnings)
			}
			// dsrdump checks the SR document's structure and modules,
			// and warns of what is missing.
			out, stderr := run(t, "dsrdump", "+U8", "+Pl", "+Pc", p)
			// dcmtk 3.6.7 checks the characters of values in the
			// character sets it knows, not in UTF-8, and says so.
			stderr = strings.ReplaceAll(stderr, "W: The VR checker does not support this Specific Character Set: ISO_IR 192\n", "")
			if stderr != "" {
				t.Errorf("dsrdump warns:\n%s", stderr)
			}
			for _, want := range []string{"Basic Text SR Document", `(18748-4,LN,"Diagnostic Imaging Report")=SEPARATE`,
				`<contains TEXT:(121071,DCM,"Finding")=`, "Completion Flag     : COMPLETE", "Verification Flag   : UNVERIFIED"} {
				if !strings.Contains(out, want) {
					t.Errorf("dsrdump says no %q:\n%s", want, out)
				}
			}
			if !isASCII(text) && !strings.Contains(out, "Schädel") && name == "utf-8" {
				t.Errorf("dsrdump does not show the text in UTF-8:\n%s", out)
			}
			charset, _ := d.text("0008,0005")
			if want := map[bool]string{true: "", false: "ISO_IR 192"}[isASCII(strings.TrimPrefix(text, "\uFEFF")+title)]; charset != want {
				t.Errorf("Specific Character Set %q, want %q", charset, want)
			}
			content := d.get("0040,a730")
			if content == nil || len(content.kids) != 1 {
				t.Fatalf("Content Sequence %+v", content)
			}
			got, _ := content.kids[0].text("0040,a160")
			if want := strings.TrimPrefix(text, "\uFEFF"); !strings.ContainsAny(want, "\r\n") && strings.TrimRight(got, " ") != strings.TrimRight(want, " ") {
				t.Errorf("Text Value %q, want %q", got, want)
			}
			if !bytes.Contains(b.Bytes(), []byte(strings.TrimPrefix(text, "\uFEFF"))) {
				t.Error("the text is not in the file as given")
			}
			for tag, v := range map[string]string{"0008,0060": "SR", "0020,000d": testRef.StudyInstanceUID, "0010,0020": testRef.PatientID,
				"0040,a040": "CONTAINER", "0040,a050": "SEPARATE", "0008,103e": title} {
				if got, _ := d.text(tag); got != v {
					t.Errorf("(%s) = %q, want %q", tag, got, v)
				}
			}
		})
	}
	checkStudyReads(t, dir, len(texts))
}

// checkStudyReads checks that the study package reads the n instances in
// dir as one study of the test patient.
func checkStudyReads(t *testing.T, dir string, n int) {
	t.Helper()
	s, err := study.ScanPaths(context.Background(), []string{dir}, study.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range s.Problems {
		if strings.HasSuffix(p.Path, ".dcm") {
			t.Errorf("study.ScanPaths: %v", p)
		}
	}
	if len(s.Studies) != 1 || s.Studies[0].Summary.StudyUID != testRef.StudyInstanceUID ||
		s.Studies[0].Summary.PatientID != testRef.PatientID || s.Studies[0].Summary.Files != n {
		t.Errorf("study.ScanPaths: %d studies, the first %+v; want one of %d files", len(s.Studies), s.Studies, n)
	}
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

var uidPattern = regexp.MustCompile(`^2\.25\.[1-9][0-9]*$`)

func TestNewUID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		u := NewUID()
		if !uidPattern.MatchString(u) || len(u) > 64 {
			t.Fatalf("NewUID() = %q", u)
		}
		n, _ := new(big.Int).SetString(strings.TrimPrefix(u, "2.25."), 10)
		b := n.FillBytes(make([]byte, 16))
		if b[6]>>4 != 4 || b[8]>>6 != 2 {
			t.Fatalf("NewUID() = %q: not a version 4, variant 1 UUID (%x)", u, b)
		}
		if seen[u] {
			t.Fatalf("NewUID() = %q twice", u)
		}
		seen[u] = true
	}
}

// TestReportErrors checks what the report writers refuse.
func TestReportErrors(t *testing.T) {
	long := testRef
	long.PatientID = strings.Repeat("1", 65)
	noStudy := testRef
	noStudy.StudyInstanceUID = ""
	badUID := testRef
	badUID.StudyInstanceUID = "1.2.03"
	latin1 := testRef
	latin1.SpecificCharacterSet = "ISO_IR 100"
	latin1.PatientName = "M\xdcLLER"
	tests := []struct {
		name string
		do   func(*bytes.Buffer) error
		msg  string
	}{
		{"not a PDF", func(b *bytes.Buffer) error {
			_, err := EncapsulatedPDF(b, testRef, []byte("hello"), "", testNow)
			return err
		}, "reconcile: the document is not a PDF: it does not start with %PDF-"},
		{"patient ID too long", func(b *bytes.Buffer) error {
			_, err := EncapsulatedPDF(b, long, testPDF(100), "", testNow)
			return err
		}, "reconcile: (0010,0020) Patient ID: value too long (65 > 64 characters)"},
		{"no study", func(b *bytes.Buffer) error {
			_, err := BasicTextSR(b, noStudy, "text", "", testNow)
			return err
		}, "reconcile: (0020,000D) Study Instance UID: no value: the report cannot join the study"},
		{"bad study UID", func(b *bytes.Buffer) error {
			_, err := BasicTextSR(b, badUID, "text", "", testNow)
			return err
		}, "reconcile: (0020,000D) Study Instance UID: not a UID: digits in components separated by dots, without leading zeros"},
		{"values in latin-1", func(b *bytes.Buffer) error {
			_, err := BasicTextSR(b, latin1, "text", "", testNow)
			return err
		}, "reconcile: (0010,0010) Patient's Name: value is not ASCII, and the values are said to be in ISO_IR 100: give them as UTF-8"},
		{"empty text", func(b *bytes.Buffer) error {
			_, err := BasicTextSR(b, testRef, " \n", "", testNow)
			return err
		}, "reconcile: the report text is empty"},
		{"text not UTF-8", func(b *bytes.Buffer) error {
			_, err := BasicTextSR(b, testRef, "Sch\xe4del", "", testNow)
			return err
		}, "reconcile: (0040,A160) Text Value: value is not valid UTF-8"},
		{"text with NUL", func(b *bytes.Buffer) error {
			_, err := BasicTextSR(b, testRef, "a\x00b", "", testNow)
			return err
		}, "reconcile: (0040,A160) Text Value: value contains control character U+0000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := tt.do(&b)
			if err == nil || err.Error() != tt.msg {
				t.Fatalf("error %v, want %q", err, tt.msg)
			}
			if b.Len() > 0 {
				t.Errorf("%d bytes written", b.Len())
			}
		})
	}
	t.Run("write error", func(t *testing.T) {
		_, err := BasicTextSR(failWriter{}, testRef, "text", "", testNow)
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("ascii values in latin-1", func(t *testing.T) {
		ascii := testRef
		ascii.SpecificCharacterSet = "ISO_IR 100"
		if _, err := BasicTextSR(&bytes.Buffer{}, ascii, "text", "", testNow); err != nil {
			t.Fatal(err)
		}
	})
	var ve *ValueError
	if _, err := EncapsulatedPDF(&bytes.Buffer{}, long, testPDF(100), "", testNow); !errors.As(err, &ve) || ve.Attribute != "(0010,0020) Patient ID" {
		t.Errorf("error %v, want a *ValueError for (0010,0020) Patient ID", err)
	}
}

// TestReportCoerced checks that a report instance coerces like any other.
func TestReportCoerced(t *testing.T) {
	var b bytes.Buffer
	if _, err := EncapsulatedPDF(&b, testRef, testPDF(99), "", testNow); err != nil {
		t.Fatal(err)
	}
	out, err := coerce(t, b.Bytes(), Changes{PatientID: "OTHER"}, testMod)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte("OTHER")) || !bytes.Contains(out, []byte(testRef.PatientID)) {
		t.Error("the new ID or the original is not in the coerced report")
	}
}
