package dimse

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"imageshare/internal/dataset"
)

// Query is a C-FIND of the Study Root model. The keys set are matching
// keys (a date range "20200101-20201231", wildcards * and ? where the
// peer supports them); every other key of the level is asked for with
// universal matching (empty) and comes back in the Matches.
type Query struct {
	Level Level
	// Study level keys; at series and image level StudyInstanceUID is
	// required and the others are not sent (the Study Root model is
	// hierarchical).
	PatientID        string
	PatientName      string
	StudyInstanceUID string
	StudyDate        string
	AccessionNumber  string
	// Series level keys; at image level SeriesInstanceUID is required.
	SeriesInstanceUID string
	Modality          string
	// Image level key.
	SOPInstanceUID string
}

// Match is the identifier of one pending C-FIND response. Counts the peer
// did not return are -1.
type Match struct {
	Level           Level  `json:"level"`
	RetrieveAETitle string `json:"retrieve_ae_title,omitempty"`

	PatientID                     string   `json:"patient_id,omitempty"`
	PatientName                   string   `json:"patient_name,omitempty"`
	StudyInstanceUID              string   `json:"study_instance_uid"`
	StudyDate                     string   `json:"study_date,omitempty"`
	AccessionNumber               string   `json:"accession_number,omitempty"`
	StudyDescription              string   `json:"study_description,omitempty"`
	ModalitiesInStudy             []string `json:"modalities_in_study,omitempty"`
	NumberOfStudyRelatedSeries    int      `json:"number_of_study_related_series"`
	NumberOfStudyRelatedInstances int      `json:"number_of_study_related_instances"`

	SeriesInstanceUID              string `json:"series_instance_uid,omitempty"`
	Modality                       string `json:"modality,omitempty"`
	SeriesNumber                   int    `json:"series_number"`
	NumberOfSeriesRelatedInstances int    `json:"number_of_series_related_instances"`

	SOPClassUID    string `json:"sop_class_uid,omitempty"`
	SOPInstanceUID string `json:"sop_instance_uid,omitempty"`
	InstanceNumber int    `json:"instance_number"`
}

// identifier encodes q as the identifier of a C-FIND-RQ in ts.
func (q *Query) identifier(ts dataset.Syntax) ([]byte, error) {
	for _, k := range []struct{ name, v string }{
		{"PatientID", q.PatientID}, {"PatientName", q.PatientName}, {"StudyInstanceUID", q.StudyInstanceUID},
		{"StudyDate", q.StudyDate}, {"AccessionNumber", q.AccessionNumber}, {"SeriesInstanceUID", q.SeriesInstanceUID},
		{"Modality", q.Modality}, {"SOPInstanceUID", q.SOPInstanceUID},
	} {
		if err := checkKey(k.name, k.v); err != nil {
			return nil, err
		}
	}
	id := &identifier{ts: ts}
	switch q.Level {
	case StudyLevel:
		id.add(tagStudyDate, "DA", q.StudyDate)
		id.add(tagAccessionNumber, "SH", q.AccessionNumber)
		id.add(tagQueryRetrieveLevel, "CS", string(q.Level))
		id.add(tagRetrieveAETitle, "AE", "")
		id.add(tagModalitiesInStudy, "CS", "")
		id.add(tagStudyDescription, "LO", "")
		id.add(tagPatientName, "PN", q.PatientName)
		id.add(tagPatientID, "LO", q.PatientID)
		id.add(tagStudyInstanceUID, "UI", q.StudyInstanceUID)
		id.add(tagNumberOfStudyRelatedSeries, "IS", "")
		id.add(tagNumberOfStudyRelatedInstances, "IS", "")
	case SeriesLevel:
		if q.StudyInstanceUID == "" {
			return nil, fmt.Errorf("C-FIND at SERIES level: no StudyInstanceUID")
		}
		id.add(tagQueryRetrieveLevel, "CS", string(q.Level))
		id.add(tagRetrieveAETitle, "AE", "")
		id.add(tagModality, "CS", q.Modality)
		id.add(tagStudyInstanceUID, "UI", q.StudyInstanceUID)
		id.add(tagSeriesInstanceUID, "UI", q.SeriesInstanceUID)
		id.add(tagSeriesNumber, "IS", "")
		id.add(tagNumberOfSeriesRelatedInstances, "IS", "")
	case ImageLevel:
		if q.StudyInstanceUID == "" || q.SeriesInstanceUID == "" {
			return nil, fmt.Errorf("C-FIND at IMAGE level: no StudyInstanceUID or SeriesInstanceUID")
		}
		id.add(tagSOPClassUID, "UI", "")
		id.add(tagSOPInstanceUID, "UI", q.SOPInstanceUID)
		id.add(tagQueryRetrieveLevel, "CS", string(q.Level))
		id.add(tagRetrieveAETitle, "AE", "")
		id.add(tagStudyInstanceUID, "UI", q.StudyInstanceUID)
		id.add(tagSeriesInstanceUID, "UI", q.SeriesInstanceUID)
		id.add(tagInstanceNumber, "IS", "")
	default:
		return nil, fmt.Errorf("C-FIND: query/retrieve level %q, not STUDY, SERIES or IMAGE", q.Level)
	}
	return id.b, id.err
}

// Find sends a C-FIND-RQ of the Study Root model and returns the matches
// of its pending responses, once the final one says success. A failure
// status is a *StatusError; a cancelled ctx sends a C-CANCEL-RQ and
// returns ctx's error with the matches so far.
func (a *Assoc) Find(ctx context.Context, q *Query) ([]Match, error) {
	var ms []Match
	err := a.FindEach(ctx, q, func(m Match) error {
		ms = append(ms, m)
		return nil
	})
	return ms, err
}

// FindEach is Find, handing each match to f as it arrives; an error from f
// aborts the association.
func (a *Assoc) FindEach(ctx context.Context, q *Query, f func(Match) error) error {
	pc, ok := a.ContextFor(StudyRootFind)
	if !ok {
		return fmt.Errorf("C-FIND: %w for Study Root Query/Retrieve - FIND", ErrNoContext)
	}
	ts := pc.TransferSyntax()
	ident, err := q.identifier(dataset.SyntaxOf(ts))
	if err != nil {
		return err
	}
	rq := &Command{Field: CFindRQ, MessageID: a.nextMessageID(), AffectedSOPClassUID: StudyRootFind, Priority: PriorityMedium, HasDataSet: true}
	n := 0
	rsp, err := a.exchange(ctx, pc, rq, ident, func(m *Message) error {
		n++
		if m.Data == nil {
			return fmt.Errorf("pending response %d without an identifier", n)
		}
		vals, err := readIdentifier(m.Data, ts)
		if err != nil {
			return fmt.Errorf("identifier of pending response %d: %w", n, err)
		}
		match, err := matchOf(q.Level, vals)
		if err != nil {
			return fmt.Errorf("identifier of pending response %d: %w", n, err)
		}
		return f(match)
	}, nil)
	if err != nil {
		return fmt.Errorf("C-FIND at %s level: %w", q.Level, err)
	}
	if rsp.Status != StatusSuccess {
		return fmt.Errorf("C-FIND at %s level: %w", q.Level, &StatusError{Status: rsp.Status, Err: errComment(rsp.ErrorComment)})
	}
	return nil
}

// matchOf reads a Match from an identifier's values.
func matchOf(level Level, v map[dataset.Tag]string) (Match, error) {
	m := Match{
		Level:            Level(v[tagQueryRetrieveLevel]),
		RetrieveAETitle:  v[tagRetrieveAETitle],
		PatientID:        v[tagPatientID],
		PatientName:      v[tagPatientName],
		StudyInstanceUID: v[tagStudyInstanceUID],
		StudyDate:        v[tagStudyDate],
		AccessionNumber:  v[tagAccessionNumber],
		StudyDescription: v[tagStudyDescription],

		SeriesInstanceUID: v[tagSeriesInstanceUID],
		Modality:          v[tagModality],

		SOPClassUID:    v[tagSOPClassUID],
		SOPInstanceUID: v[tagSOPInstanceUID],
	}
	if m.Level == "" {
		m.Level = level
	}
	if m.Level != level {
		return m, fmt.Errorf("%w: level %q, not %q", ErrIdentifier, m.Level, level)
	}
	if s := v[tagModalitiesInStudy]; s != "" {
		for _, x := range strings.Split(s, `\`) {
			m.ModalitiesInStudy = append(m.ModalitiesInStudy, strings.TrimSpace(x))
		}
	}
	for _, n := range []struct {
		t dataset.Tag
		p *int
	}{
		{tagNumberOfStudyRelatedSeries, &m.NumberOfStudyRelatedSeries},
		{tagNumberOfStudyRelatedInstances, &m.NumberOfStudyRelatedInstances},
		{tagSeriesNumber, &m.SeriesNumber},
		{tagNumberOfSeriesRelatedInstances, &m.NumberOfSeriesRelatedInstances},
		{tagInstanceNumber, &m.InstanceNumber},
	} {
		*n.p = -1
		s := strings.TrimSpace(v[n.t])
		if s == "" {
			continue
		}
		i, err := strconv.Atoi(s)
		if err != nil {
			return m, fmt.Errorf("%w: %v %q is not an integer string", ErrIdentifier, n.t, s)
		}
		*n.p = i
	}
	var uid string
	switch level {
	case StudyLevel:
		uid = m.StudyInstanceUID
	case SeriesLevel:
		uid = m.SeriesInstanceUID
	case ImageLevel:
		uid = m.SOPInstanceUID
	}
	if !validUID(uid) {
		return m, fmt.Errorf("%w: unique key of level %s %q is not a UID", ErrIdentifier, level, uid)
	}
	return m, nil
}
