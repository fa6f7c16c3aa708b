package reconcile

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"imageshare/internal/testenv"
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
			inst, err := EncapsulatedPDF(&b, ref, pdf, ReportOptions{Title: title, Time: testNow})
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
			inst, err := BasicTextSR(&b, testRef, text, ReportOptions{Title: title, Time: testNow})
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
			_, err := EncapsulatedPDF(b, testRef, []byte("hello"), ReportOptions{Time: testNow})
			return err
		}, "reconcile: the document is not a PDF: it does not start with %PDF-"},
		{"patient ID too long", func(b *bytes.Buffer) error {
			_, err := EncapsulatedPDF(b, long, testPDF(100), ReportOptions{Time: testNow})
			return err
		}, "reconcile: (0010,0020) Patient ID: value too long (65 > 64 characters)"},
		{"no study", func(b *bytes.Buffer) error {
			_, err := BasicTextSR(b, noStudy, "text", ReportOptions{Time: testNow})
			return err
		}, "reconcile: (0020,000D) Study Instance UID: no value: the report cannot join the study"},
		{"bad study UID", func(b *bytes.Buffer) error {
			_, err := BasicTextSR(b, badUID, "text", ReportOptions{Time: testNow})
			return err
		}, "reconcile: (0020,000D) Study Instance UID: not a UID: digits in components separated by dots, without leading zeros"},
		{"values in latin-1", func(b *bytes.Buffer) error {
			_, err := BasicTextSR(b, latin1, "text", ReportOptions{Time: testNow})
			return err
		}, "reconcile: (0010,0010) Patient's Name: value is not ASCII, and the values are said to be in ISO_IR 100: give them as UTF-8"},
		{"empty text", func(b *bytes.Buffer) error {
			_, err := BasicTextSR(b, testRef, " \n", ReportOptions{Time: testNow})
			return err
		}, "reconcile: the report text is empty"},
		{"text not UTF-8", func(b *bytes.Buffer) error {
			_, err := BasicTextSR(b, testRef, "Sch\xe4del", ReportOptions{Time: testNow})
			return err
		}, "reconcile: (0040,A160) Text Value: value is not valid UTF-8"},
		{"text with NUL", func(b *bytes.Buffer) error {
			_, err := BasicTextSR(b, testRef, "a\x00b", ReportOptions{Time: testNow})
			return err
		}, "reconcile: (0040,A160) Text Value: value contains control character U+0000"},
	}
	noOtherID := testRef
	noOtherID.OtherPatientIDs = []OtherPatientID{{ID: "A"}, {Issuer: "HOSPITAL B"}}
	longIssuer := testRef
	longIssuer.OtherPatientIDs = []OtherPatientID{{ID: "A", Issuer: strings.Repeat("I", 65)}}
	longDesc := testRef
	longDesc.StudyDescription = strings.Repeat("D", 65)
	tests = append(tests, []struct {
		name string
		do   func(*bytes.Buffer) error
		msg  string
	}{
		{"other patient ID empty", func(b *bytes.Buffer) error {
			_, err := EncapsulatedPDF(b, noOtherID, testPDF(100), ReportOptions{Time: testNow})
			return err
		}, "reconcile: (0010,1002) Other Patient IDs Sequence item 2: (0010,0020) Patient ID: no value"},
		{"other issuer too long", func(b *bytes.Buffer) error {
			_, err := BasicTextSR(b, longIssuer, "text", ReportOptions{Time: testNow})
			return err
		}, "reconcile: (0010,1002) Other Patient IDs Sequence item 1: (0010,0021) Issuer of Patient ID: value too long (65 > 64 characters)"},
		{"study description too long", func(b *bytes.Buffer) error {
			_, err := BasicTextSR(b, longDesc, "text", ReportOptions{Time: testNow})
			return err
		}, "reconcile: (0008,1030) Study Description: value too long (65 > 64 characters)"},
		{"bad SOP instance UID given", func(b *bytes.Buffer) error {
			_, err := EncapsulatedPDF(b, testRef, testPDF(100), ReportOptions{Time: testNow, SOPInstanceUID: "2.25.x"})
			return err
		}, "reconcile: (0008,0018) SOP Instance UID: not a UID: digits in components separated by dots, without leading zeros"},
		{"bad series UID given", func(b *bytes.Buffer) error {
			_, err := BasicTextSR(b, testRef, "text", ReportOptions{Time: testNow, SeriesInstanceUID: "1..2"})
			return err
		}, "reconcile: (0020,000E) Series Instance UID: not a UID: digits in components separated by dots, without leading zeros"},
	}...)
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
		_, err := BasicTextSR(failWriter{}, testRef, "text", ReportOptions{Time: testNow})
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("ascii values in latin-1", func(t *testing.T) {
		ascii := testRef
		ascii.SpecificCharacterSet = "ISO_IR 100"
		if _, err := BasicTextSR(&bytes.Buffer{}, ascii, "text", ReportOptions{Time: testNow}); err != nil {
			t.Fatal(err)
		}
	})
	var ve *ValueError
	if _, err := EncapsulatedPDF(&bytes.Buffer{}, long, testPDF(100), ReportOptions{Time: testNow}); !errors.As(err, &ve) || ve.Attribute != "(0010,0020) Patient ID" {
		t.Errorf("error %v, want a *ValueError for (0010,0020) Patient ID", err)
	}
}

// TestReportCoerced checks that a report instance coerces like any other.
func TestReportCoerced(t *testing.T) {
	var b bytes.Buffer
	if _, err := EncapsulatedPDF(&b, testRef, testPDF(99), ReportOptions{Time: testNow}); err != nil {
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

// TestReportUIDs checks the UIDs derived for a report: the same for the
// same offer and report, whenever and wherever derived (the vector was
// computed apart from this code, with Python's hashlib), and different if
// either differs.
func TestReportUIDs(t *testing.T) {
	const offer = "0123456789abcdef"
	report := []byte("CT head: no acute haemorrhage.\n")
	series, sop := ReportUIDs(offer, report)
	if want := "2.25.164242589572778581412830444345233659993"; series != want {
		t.Errorf("series UID %s, want %s", series, want)
	}
	if want := "2.25.51507397916806467623941756294016372568"; sop != want {
		t.Errorf("SOP instance UID %s, want %s", sop, want)
	}
	seen := map[string]string{}
	for _, in := range []struct {
		name, offer string
		report      []byte
	}{
		{"as given", offer, report},
		{"another offer", "0123456789abcdee", report},
		{"another report", offer, []byte("CT head: no acute haemorrhage!\n")},
		{"no offer", "", report},
		{"empty report", offer, nil},
		{"offer and report run together", offer + "00", report},
	} {
		s, i := ReportUIDs(in.offer, in.report)
		if s2, i2 := ReportUIDs(in.offer, bytes.Clone(in.report)); s2 != s || i2 != i {
			t.Errorf("%s: %s %s, then %s %s", in.name, s, i, s2, i2)
		}
		for _, u := range []string{s, i} {
			if !uidPattern.MatchString(u) || len(u) > 64 {
				t.Fatalf("%s: UID %q", in.name, u)
			}
			n, _ := new(big.Int).SetString(strings.TrimPrefix(u, "2.25."), 10)
			b := n.FillBytes(make([]byte, 16))
			if b[6]>>4 != 8 || b[8]>>6 != 2 {
				t.Errorf("%s: %s is not a version 8, variant 1 UUID (%x)", in.name, u, b)
			}
			if other, ok := seen[u]; ok {
				t.Errorf("%s: UID %s, as for %s", in.name, u, other)
			}
			seen[u] = in.name
		}
	}
}

// TestReportGivenUIDs checks that the report writers use the UIDs given,
// so that the same report written twice is the same instance, byte for
// byte, and make new ones for those not given.
func TestReportGivenUIDs(t *testing.T) {
	pdf := testPDF(100)
	series, sop := ReportUIDs("0123456789abcdef", pdf)
	write := func(o ReportOptions, sr bool) (Instance, []byte) {
		t.Helper()
		var b bytes.Buffer
		var inst Instance
		var err error
		if sr {
			inst, err = BasicTextSR(&b, testRef, "text", o)
		} else {
			inst, err = EncapsulatedPDF(&b, testRef, pdf, o)
		}
		if err != nil {
			t.Fatal(err)
		}
		return inst, b.Bytes()
	}
	for _, sr := range []bool{false, true} {
		o := ReportOptions{Title: "Report", Time: testNow, SeriesInstanceUID: series, SOPInstanceUID: sop}
		inst, first := write(o, sr)
		if inst.SeriesInstanceUID != series || inst.SOPInstanceUID != sop {
			t.Errorf("instance %+v, want series %s and instance %s", inst, series, sop)
		}
		if _, again := write(o, sr); !bytes.Equal(again, first) {
			t.Error("the same report with the same options is not the same file")
		}
		if n := bytes.Count(first, []byte(sop)); n != 2 { // meta group and data set
			t.Errorf("the SOP instance UID is %d times in the file, want 2", n)
		}
		if !bytes.Contains(first, []byte(series)) {
			t.Error("the series UID is not in the file")
		}
		inst, _ = write(ReportOptions{Time: testNow, SOPInstanceUID: sop}, sr)
		if inst.SOPInstanceUID != sop || inst.SeriesInstanceUID == series || !uidPattern.MatchString(inst.SeriesInstanceUID) {
			t.Errorf("only the instance UID given: %+v", inst)
		}
		inst, _ = write(ReportOptions{Time: testNow, SeriesInstanceUID: series}, sr)
		if inst.SeriesInstanceUID != series || inst.SOPInstanceUID == sop || !uidPattern.MatchString(inst.SOPInstanceUID) {
			t.Errorf("only the series UID given: %+v", inst)
		}
	}
	// The zero Time is now.
	before := time.Now()
	_, b := write(ReportOptions{}, true)
	if !bytes.Contains(b, []byte(before.Format("20060102"))) && !bytes.Contains(b, []byte(time.Now().Format("20060102"))) {
		t.Error("the zero Time does not date the instance today")
	}
}

// allFieldsRef is testRef with every field set, and text in UTF-8.
func allFieldsRef() StudyRef {
	ref := testRef
	ref.PatientName = "MÜLLER^JÜRGEN"
	ref.StudyDescription = "CT Schädel nativ"
	ref.OtherPatientIDs = []OtherPatientID{{ID: "PAT-A-77", Issuer: "HOSPITAL A"}, {ID: "123456"}}
	ref.SpecificCharacterSet = "ISO_IR 192"
	return ref
}

// TestReportStudyAttributes checks the study-level attributes the images
// have and the report must too: Study ID and Referring Physician's Name,
// empty when unknown (Type 2); Study Description and Other Patient IDs
// Sequence, absent when unknown.
func TestReportStudyAttributes(t *testing.T) {
	tool(t, "dcmdump")
	dir := t.TempDir()
	for _, sr := range []bool{false, true} {
		for _, full := range []bool{true, false} {
			ref := StudyRef{StudyInstanceUID: testRef.StudyInstanceUID}
			if full {
				ref = allFieldsRef()
			}
			var b bytes.Buffer
			var err error
			if sr {
				_, err = BasicTextSR(&b, ref, "Befund", ReportOptions{Time: testNow})
			} else {
				_, err = EncapsulatedPDF(&b, ref, testPDF(100), ReportOptions{Time: testNow})
			}
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, "report.dcm")
			writeFile(t, p, b.Bytes())
			d, warnings := dcmdump(t, p)
			if warnings != "" {
				t.Errorf("dcmdump warns:\n%s", warnings)
			}
			for tag, v := range map[string]string{"0020,0010": ref.StudyID, "0008,0090": ref.ReferringPhysicianName} {
				if got, ok := d.text(tag); !ok || got != v {
					t.Errorf("sr %v, full %v: (%s) = %q (there: %v), want %q", sr, full, tag, got, ok, v)
				}
			}
			desc, ok := d.text("0008,1030")
			if ok != full || desc != ref.StudyDescription {
				t.Errorf("sr %v, full %v: Study Description %q (there: %v), want %q", sr, full, desc, ok, ref.StudyDescription)
			}
			seq := d.get("0010,1002")
			if !full {
				if seq != nil {
					t.Errorf("sr %v: an empty Other Patient IDs Sequence is written", sr)
				}
				continue
			}
			if seq == nil || len(seq.kids) != len(ref.OtherPatientIDs) {
				t.Fatalf("sr %v: Other Patient IDs Sequence %+v, want %d items", sr, seq, len(ref.OtherPatientIDs))
			}
			for i, id := range ref.OtherPatientIDs {
				item := seq.kids[i]
				for tag, v := range map[string]string{"0010,0020": id.ID, "0010,0022": "TEXT"} {
					if got, _ := item.text(tag); got != v {
						t.Errorf("sr %v: item %d: (%s) = %q, want %q", sr, i+1, tag, got, v)
					}
				}
				if got, ok := item.text("0010,0021"); got != id.Issuer || ok != (id.Issuer != "") {
					t.Errorf("sr %v: item %d: Issuer of Patient ID %q (there: %v), want %q", sr, i+1, got, ok, id.Issuer)
				}
			}
		}
	}
}

// TestReportDciodvfy checks the report instances against the IODs with
// dciodvfy (dicom3tools): no error, with every field of the study given
// and with none but the study's UID.
func TestReportDciodvfy(t *testing.T) {
	bin, err := exec.LookPath("dciodvfy")
	if err != nil {
		testenv.Missing(t, "dciodvfy (Debian dicom3tools) is not installed: %v", err)
	}
	dir := t.TempDir()
	for _, full := range []bool{true, false} {
		ref := StudyRef{StudyInstanceUID: testRef.StudyInstanceUID}
		if full {
			ref = allFieldsRef()
		}
		o := ReportOptions{Title: "Report from Klinikum Süd", Time: testNow}
		o.SeriesInstanceUID, o.SOPInstanceUID = ReportUIDs("0123456789abcdef", []byte("report"))
		for _, kind := range []string{"pdf", "sr"} {
			var b bytes.Buffer
			var err error
			if kind == "sr" {
				_, err = BasicTextSR(&b, ref, "Befund: Schädel unauffällig.\r\nKein Nachweis einer Blutung.", o)
			} else {
				_, err = EncapsulatedPDF(&b, ref, testPDF(101), o)
			}
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, kind+".dcm")
			writeFile(t, p, b.Bytes())
			// dciodvfy exits 1 when it finds an error, and prints what it
			// finds on standard error.
			out, _ := exec.Command(bin, p).CombinedOutput()
			for line := range strings.Lines(string(out)) {
				if strings.Contains(line, "Error") {
					t.Errorf("%s (all fields %v): dciodvfy: %s", kind, full, strings.TrimSpace(line))
				}
			}
			if !strings.Contains(string(out), map[string]string{"pdf": "EncapsulatedPDF", "sr": "BasicTextSR"}[kind]) {
				t.Errorf("%s: dciodvfy does not name the IOD:\n%s", kind, out)
			}
		}
	}
}
