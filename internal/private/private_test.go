package private

import (
	"path/filepath"
	"slices"
	"testing"
)

func TestFirstMissing(t *testing.T) {
	base := t.TempDir()
	for _, tc := range []struct{ path, want string }{
		{base, ""},
		{filepath.Join(base, "a"), filepath.Join(base, "a")},
		{filepath.Join(base, "a", "b", "c"), filepath.Join(base, "a")},
		{filepath.Join(base, "a", "b") + string(filepath.Separator), filepath.Join(base, "a")},
	} {
		if got := firstMissing(tc.path); got != tc.want {
			t.Errorf("firstMissing(%s) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

func TestReaders(t *testing.T) {
	const owner, user, users, everyone = "S-1-5-21-1-2-3-1001", "S-1-5-21-1-2-3-1002", "S-1-5-32-545", "S-1-1-0"
	full := uint32(0x1F01FF)
	for _, tc := range []struct {
		name string
		aces []ace
		want []string
	}{
		{"private", []ace{{0, 0x3, full, owner}, {0, 0x3, full, sidSystem}, {0, 0x3, full, sidAdministrators}}, nil},
		{"the user running it, not the owner", []ace{{0, 0, full, user}, {0, 0, full, sidAdministrators}}, nil},
		{"Users may read", []ace{{0, 0, full, owner}, {0, 0x10, 0x1200A9, users}}, []string{users}},
		{"Everyone, generic read", []ace{{0, 0, accessGenericRead, everyone}}, []string{everyone}},
		{"inherit-only entries do not apply to the file", []ace{{0, aceFlagInheritOnly | 0x3, full, users}}, nil},
		{"deny entries take away", []ace{{0x1, 0, full, users}}, nil},
		{"execute only is not reading", []ace{{0, 0, 0x20, users}}, nil},
		{"changing the access list is as good as reading", []ace{{0, 0, accessWriteDAC, users}}, []string{users}},
		{"callback entries allow too, once named", []ace{{aceTypeAccessAllowedCallback, 0, full, everyone}, {0, 0, full, everyone}}, []string{everyone}},
		{"OWNER RIGHTS and CREATOR OWNER", []ace{{0, 0, full, sidOwnerRights}, {0, 0, full, sidCreatorOwner}}, nil},
	} {
		if got := readers(tc.aces, owner, user); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPrivateSDDL(t *testing.T) {
	const want = "D:P(A;OICI;FA;;;S-1-5-21-1-2-3-1001)(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
	if got := privateSDDL("S-1-5-21-1-2-3-1001"); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
