package study

import (
	"fmt"
)

// Select picks what to send from a scan: the studies with the given UIDs
// (--study, may be several), or all studies (--all-studies), or, when neither
// is given, the only study. It refuses with an *AmbiguousError when there is
// more than one study and nothing says which, and always when the studies to
// send are of more than one patient: a card travels with one patient. A UID
// that is not in the scan is an error naming it.
func Select(s *Scan, studyUIDs []string, all bool) ([]*Study, error) {
	if len(s.Studies) == 0 {
		return nil, ErrNoStudy
	}
	var picked []*Study
	switch {
	case len(studyUIDs) > 0:
		byUID := map[string]*Study{}
		for _, st := range s.Studies {
			byUID[st.Summary.StudyUID] = st
		}
		seen := map[string]bool{}
		for _, u := range studyUIDs {
			st, ok := byUID[u]
			if !ok {
				return nil, fmt.Errorf("%w: %s is not among the %d studies found", ErrUnknownStudy, u, len(s.Studies))
			}
			if !seen[u] {
				seen[u] = true
				picked = append(picked, st)
			}
		}
	case all || len(s.Studies) == 1:
		picked = s.Studies
	default:
		return nil, &AmbiguousError{Studies: s.Studies, MultiplePatients: len(groupByPatient(s.Studies)) > 1}
	}
	if len(groupByPatient(picked)) > 1 {
		return nil, &AmbiguousError{Studies: picked, MultiplePatients: true}
	}
	return picked, nil
}
