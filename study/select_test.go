package study_test

import (
	"errors"
	"strings"
	"testing"

	"imageshare/study"
)

func newStudy(uid, name, id, date, desc string, files int) *study.Study {
	return &study.Study{Summary: study.Summary{
		StudyUID: uid, PatientName: name, PatientID: id, BirthDate: "19700131",
		StudyDate: date, Description: desc, Files: files,
	}}
}

func TestSelect(t *testing.T) {
	ct := newStudy("1.1", "DOE^JOHN", "123", "20240101", "CT HEAD", 200)
	mr := newStudy("1.2", "DOE^JOHN^^", "123", "20240102", "MR BRAIN", 300) // the same patient
	other := newStudy("2.1", "ROE^JANE", "456", "20240103", "", 1)
	type result struct {
		picked   []string
		err      error
		patients bool // an AmbiguousError of several patients
	}
	ambiguous := &study.AmbiguousError{}
	tests := []struct {
		name    string
		studies []*study.Study
		uids    []string
		all     bool
		want    result
	}{
		{"none", nil, nil, false, result{err: study.ErrNoStudy}},
		{"the only one", []*study.Study{ct}, nil, false, result{picked: []string{"1.1"}}},
		{"two, no choice", []*study.Study{ct, mr}, nil, false, result{err: ambiguous}},
		{"two, all", []*study.Study{ct, mr}, nil, true, result{picked: []string{"1.1", "1.2"}}},
		{"two, one chosen", []*study.Study{ct, mr}, []string{"1.2"}, false, result{picked: []string{"1.2"}}},
		{"two chosen twice", []*study.Study{ct, mr}, []string{"1.2", "1.1", "1.2"}, false, result{picked: []string{"1.2", "1.1"}}},
		{"unknown", []*study.Study{ct, mr}, []string{"9.9"}, false, result{err: study.ErrUnknownStudy}},
		{"two patients, no choice", []*study.Study{ct, other}, nil, false, result{err: ambiguous, patients: true}},
		{"two patients, all", []*study.Study{ct, other}, nil, true, result{err: ambiguous, patients: true}},
		{"two patients, both chosen", []*study.Study{ct, other}, []string{"1.1", "2.1"}, false, result{err: ambiguous, patients: true}},
		{"two patients, one chosen", []*study.Study{ct, mr, other}, []string{"2.1"}, false, result{picked: []string{"2.1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			picked, err := study.Select(&study.Scan{Studies: tt.studies}, tt.uids, tt.all)
			var uids []string
			for _, st := range picked {
				uids = append(uids, st.Summary.StudyUID)
			}
			if strings.Join(uids, " ") != strings.Join(tt.want.picked, " ") {
				t.Errorf("picked %v, want %v", uids, tt.want.picked)
			}
			var amb *study.AmbiguousError
			switch {
			case tt.want.err == ambiguous:
				if !errors.As(err, &amb) || amb.MultiplePatients != tt.want.patients {
					t.Errorf("error %v, want an AmbiguousError, several patients: %v", err, tt.want.patients)
				}
			default:
				checkErr(t, "Select", err, tt.want.err)
			}
		})
	}

	_, err := study.Select(&study.Scan{Studies: []*study.Study{ct}}, []string{"9.9"}, false)
	if err == nil || !strings.Contains(err.Error(), "9.9") {
		t.Errorf("unknown study: %v, want its UID named", err)
	}
}

func TestAmbiguousErrorLists(t *testing.T) {
	ct := newStudy("1.1", "DOE^JOHN", "123", "20240101", "CT HEAD", 200)
	mr := newStudy("1.2", "DOE^JOHN", "123", "20240102", "", 1)
	other := newStudy("2.1", "ROE^JANE", "", "", "", 3)
	_, err := study.Select(&study.Scan{Studies: []*study.Study{ct, mr, other}}, nil, false)
	want := `studies of 2 patients found; a send carries one patient: pick one study with --study UID
  patient DOE, JOHN, ID 123, born 1970-01-31
    2024-01-01  CT HEAD  1.1  200 files
    2024-01-02  —  1.2  1 file
  patient ROE, JANE, ID —, born 1970-01-31
    —  —  2.1  3 files`
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
	_, err = study.Select(&study.Scan{Studies: []*study.Study{ct, mr}}, nil, false)
	if err == nil || !strings.HasPrefix(err.Error(), "2 studies found: pick one with --study UID, or send them all with --all-studies\n") {
		t.Errorf("got\n%v", err)
	}
}
