package study_test

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"imageshare/internal/testenv"
	"imageshare/study"
)

func TestFormatName(t *testing.T) {
	for pn, want := range map[string]string{
		"DOE^JOHN":                "DOE, JOHN",
		"DOE^JOHN^A^DR^JR":        "DOE, DR JOHN A, JR",
		"DOE^JOHN^^^":             "DOE, JOHN",
		"DOE":                     "DOE",
		"^JOHN":                   "JOHN",
		"Anonymized":              "Anonymized",
		"":                        "—",
		"^^^^":                    "—",
		"Yamada^Tarou=山田^太郎":      "Yamada, Tarou",
		"=山田^太郎":                  "山田, 太郎",
		"van  der Berg^Jan  Piet": "van der Berg, Jan Piet",
	} {
		if got := study.FormatName(pn); got != want {
			t.Errorf("FormatName(%q) = %q, want %q", pn, got, want)
		}
	}
}

func TestFormatDate(t *testing.T) {
	for da, want := range map[string]string{
		"19700131":   "1970-01-31",
		"1970.01.31": "1970-01-31",
		"":           "—",
		" ":          "—",
		"19701331":   "19701331", // not a date: shown as stored
		"1970":       "1970",
	} {
		if got := study.FormatDate(da); got != want {
			t.Errorf("FormatDate(%q) = %q, want %q", da, got, want)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1, "1 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1025, "1.0 KiB"},
		{1536, "1.5 KiB"},
		{1<<20 - 1, "1.0 MiB"},
		{1 << 20, "1.0 MiB"},
		{67 << 20, "67.0 MiB"},
		{3<<30 + 1<<29, "3.5 GiB"},
		{1 << 50, "1.0 PiB"},
		{1<<63 - 1, "8.0 EiB"},
	} {
		if got := study.FormatBytes(tt.n); got != tt.want {
			t.Errorf("FormatBytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestWriteSummaryCT(t *testing.T) {
	s := scan(t, filepath.Join(testenv.SharedDICOM(t), "ct-pancreas/CT_series"))
	var b strings.Builder
	study.WriteSummary(&b, s.Studies[0].Summary)
	want := `Patient:      Pancreas-CT-CB_001
Patient ID:   Pancreas-CT-CB_001
Birth date:   —
Sex:          M
Study date:   2012-07-06 11:18
Description:  PANCREAS
Accession:    —
Modalities:   CT
Study UID:    1.3.6.1.4.1.14519.5.2.1.21087345762211724523378497892240459677
Series: 1
  201  CT  PANCREAS DI, iDose (3)  134 images  67.3 MiB
Total: 134 files, 67.3 MiB
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestWriteSummary(t *testing.T) {
	var b strings.Builder
	study.WriteSummary(&b, study.Summary{
		PatientName: "DOE^JOHN", PatientID: "123", IssuerOfPatientID: "HOSP", BirthDate: "19700131", Sex: "M",
		StudyUID: "1.2", StudyDate: "20240101", StudyTime: "031200.5", Description: "TRAUMA", Accession: "A1",
		Institution: "General", Modalities: []string{"CT", "SR"}, Files: 301, Bytes: 3 << 20,
		Series: []study.Series{
			{UID: "1.2.1", Number: 2, Modality: "CT", Description: "AXIAL", Images: 300, Bytes: 3<<20 - 1000},
			{UID: "1.2.2", Number: 1001, Modality: "SR", Images: 1, Bytes: 1000},
		},
	})
	want := `Patient:      DOE, JOHN
Patient ID:   123 (issuer HOSP)
Birth date:   1970-01-31
Sex:          M
Study date:   2024-01-01 03:12
Description:  TRAUMA
Accession:    A1
Institution:  General
Modalities:   CT, SR
Study UID:    1.2
Series: 2
     2  CT  AXIAL  300 images  3.0 MiB
  1001  SR  —         1 image   1000 B
Total: 301 files, 3.0 MiB
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}

	b.Reset()
	study.WriteSummary(&b, study.Summary{})
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if strings.HasSuffix(line, ":") && line != "Series: 0" || strings.HasSuffix(line, ": ") {
			t.Errorf("blank value in %q", line)
		}
	}
}

// TestSummaryJSON pins the names the summary has in the wire manifest.
func TestSummaryJSON(t *testing.T) {
	js, err := json.Marshal(study.Summary{Series: []study.Series{{}}})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"accession", "birth_date", "bytes", "description", "files", "modalities", "patient_id", "patient_name", "series", "sex", "study_date", "study_uid"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %q, want %q", keys, want)
	}
	series := m["series"].([]any)[0].(map[string]any)
	if len(series) != 6 || series["uid"] == nil || series["images"] == nil {
		t.Errorf("series keys %v", series)
	}
}

// TestSummaryHostileText: a manifest's or a medium's values reach staff
// through WriteSummary; none may drive the terminal (clear the screen,
// draw a fake summary above the question) or reorder what it shows.
func TestSummaryHostileText(t *testing.T) {
	const esc = "\x1b[2J\x1b[H"
	s := study.Summary{
		PatientName: "DOE^" + esc + "JOHN", PatientID: "ID\u202e1", IssuerOfPatientID: "ISS\n",
		BirthDate: "1970\x1b", Sex: "M\r", StudyDate: "2024\u009b", StudyTime: "\x1b[31m",
		Description: "CT\x1b]0;title\x07", Accession: "A\u2066", Institution: "ST\u2028E",
		Modalities: []string{"CT\x1b"}, StudyUID: "1.2\u200f",
		Series: []study.Series{{UID: "1.2.3", Number: 1, Modality: "CT\x7f", Description: "AX\x1b[1A", Images: 1}},
	}
	var b strings.Builder
	study.WriteSummary(&b, s)
	out := b.String()
	for _, r := range out {
		if r < 0x20 && r != '\n' || r >= 0x7f && r < 0xa0 || r == 0x202e || r == 0x2066 || r == 0x2028 || r == 0x200f {
			t.Errorf("summary holds %U:\n%q", r, out)
		}
	}
	if !strings.Contains(out, "DOE, ?[2J?[HJOHN") {
		t.Errorf("the hostile name is not shown, harmless:\n%s", out)
	}
	for _, f := range []func(string) string{study.FormatName, study.FormatDate} {
		if got := f("X\x1b[2J"); strings.ContainsRune(got, 0x1b) {
			t.Errorf("%q holds an escape", got)
		}
	}
}
