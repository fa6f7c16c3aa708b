package receive

import (
	"errors"
	"strings"
)

// The refusals of Local.Check: values staff gave that the import could not
// apply as they mean them. Each face says them in its own words (the
// command line names its flags).
var (
	// ErrLocalWithoutPACS: local values change only the copies sent to
	// the PACS, and there is no PACS to send to.
	ErrLocalWithoutPACS = errors.New("local values apply to the copies sent to the PACS, and no PACS is set")
	// ErrIssuerWithoutID: an issuer given by staff names the issuer of a
	// local patient ID, and none is given.
	ErrIssuerWithoutID = errors.New("an issuer names the issuer of a local patient ID: give both")
	// ErrIDWithoutIssuer: a local patient ID without this hospital's
	// issuer would be filed under the sending hospital's.
	ErrIDWithoutIssuer = errors.New("a local patient ID needs this hospital's issuer of patient IDs, or the PACS would file it under the sending hospital's issuer")
)

// LocalValueError: a local value cannot be written in the PACS copies
// (reconcile.Changes.Check).
type LocalValueError struct{ Err error }

func (e *LocalValueError) Error() string {
	return "the local values for the PACS: " + strings.TrimPrefix(e.Err.Error(), "reconcile: ")
}

func (e *LocalValueError) Unwrap() error { return e.Err }

// NamesPatient reports whether l names one patient. The station's
// configured issuer (issuerConfigured) names none: it applies to every
// study.
func (l Local) NamesPatient(issuerConfigured bool) bool {
	return l.PatientID != "" || l.Accession != "" || l.Name != "" || l.BirthDate != "" || l.Sex != "" ||
		(l.Issuer != "" && !issuerConfigured)
}

// Check refuses, before anything is fetched, local values that the import
// into the PACS (toPACS: one is set) could not apply as staff mean them:
// any without a PACS (ErrLocalWithoutPACS), an issuer given alone
// (ErrIssuerWithoutID), a local patient ID without an issuer
// (ErrIDWithoutIssuer), and values that cannot be written
// (*LocalValueError). issuerConfigured says the issuer is the station's
// configured one, not given for this study.
func (l Local) Check(toPACS, issuerConfigured bool) error {
	if !toPACS {
		if l.NamesPatient(issuerConfigured) {
			return ErrLocalWithoutPACS
		}
		return nil
	}
	if l.Issuer != "" && !issuerConfigured && l.PatientID == "" {
		return ErrIssuerWithoutID
	}
	if l.PatientID != "" && strings.TrimSpace(l.Issuer) == "" {
		return ErrIDWithoutIssuer
	}
	if err := l.Changes().Check(); err != nil {
		return &LocalValueError{err}
	}
	return nil
}
