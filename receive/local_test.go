package receive

import (
	"errors"
	"testing"
)

// Local.Check refuses what receiver fetch's flags and the station's page
// both refuse, in the same order.
func TestLocalCheck(t *testing.T) {
	var valueErr *LocalValueError
	for _, c := range []struct {
		l                Local
		toPACS, fromConf bool
		want             error
	}{
		{Local{}, false, false, nil},
		{Local{Issuer: "TC"}, false, true, nil}, // the configured issuer names no patient
		{Local{PatientID: "MRN1"}, false, false, ErrLocalWithoutPACS},
		{Local{Issuer: "TC"}, false, false, ErrLocalWithoutPACS},
		{Local{Issuer: "TC"}, true, false, ErrIssuerWithoutID},
		{Local{Issuer: "TC"}, true, true, nil},
		{Local{PatientID: "MRN1"}, true, false, ErrIDWithoutIssuer},
		{Local{PatientID: "MRN1", Issuer: " "}, true, true, ErrIDWithoutIssuer},
		{Local{PatientID: "MRN1", Issuer: "TC"}, true, false, nil},
		{Local{Name: "TRAUMA, ALPHA"}, true, false, nil},
		{Local{BirthDate: "1980-02-14"}, true, false, valueErr},
	} {
		err := c.l.Check(c.toPACS, c.fromConf)
		switch want := c.want.(type) {
		case nil:
			if err != nil {
				t.Errorf("%+v.Check(%v, %v) = %v, want nil", c.l, c.toPACS, c.fromConf, err)
			}
		case *LocalValueError:
			if !errors.As(err, &valueErr) {
				t.Errorf("%+v.Check(%v, %v) = %v, want a *LocalValueError", c.l, c.toPACS, c.fromConf, err)
			}
		default:
			if !errors.Is(err, want) {
				t.Errorf("%+v.Check(%v, %v) = %v, want %v", c.l, c.toPACS, c.fromConf, err, want)
			}
		}
	}
}
