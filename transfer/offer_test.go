package transfer

import "testing"

func TestOfferID(t *testing.T) {
	id := OfferID{1, 2, 3, 4, 5, 6, 7, 0xff}
	got, err := ParseOfferID(id.String())
	if err != nil || got != id {
		t.Fatalf("ParseOfferID(%s) = %v, %v", id, got, err)
	}
	for _, bad := range []string{"", "0102", "zz02030405060708", id.String() + "00"} {
		if _, err := ParseOfferID(bad); err == nil {
			t.Errorf("ParseOfferID(%q) accepted", bad)
		}
	}
}
