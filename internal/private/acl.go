package private

// The pieces of an access list that decide whether a file is private,
// apart from the Windows calls that read them, so that the decision is
// tested on every system.

// Well-known SIDs that may hold a private file besides its owner.
const (
	sidSystem         = "S-1-5-18"
	sidAdministrators = "S-1-5-32-544"
	sidOwnerRights    = "S-1-3-4"
	sidCreatorOwner   = "S-1-3-0"
)

// Access rights that let a holder read a file's data or make itself able
// to: read data, generic read or all, and changing the access list or
// the owner.
const (
	accessReadData    = 0x00000001
	accessWriteDAC    = 0x00040000
	accessWriteOwner  = 0x00080000
	accessGenericAll  = 0x10000000
	accessGenericRead = 0x80000000

	readingRights = accessReadData | accessWriteDAC | accessWriteOwner | accessGenericAll | accessGenericRead
)

// ACE header values (winnt.h). An allow entry is a plain or a callback
// (conditional) one; both are laid out as header, mask, SID. Object
// entries belong to directory objects, not files.
const (
	aceTypeAccessAllowed         = 0x0
	aceTypeAccessAllowedCallback = 0x9
	aceFlagInheritOnly           = 0x8
)

// ace is one entry of an access list, its SID as a string.
type ace struct {
	typ   byte
	flags byte
	mask  uint32
	sid   string
}

// readers returns the SIDs, other than the trusted ones, that an access
// list's entries let read the file: allow entries that apply to the file
// itself (not inherit-only) with a reading right. Deny entries only take
// rights away, and are passed over.
func readers(aces []ace, trusted ...string) []string {
	ok := map[string]bool{sidSystem: true, sidAdministrators: true, sidOwnerRights: true, sidCreatorOwner: true}
	for _, s := range trusted {
		ok[s] = true
	}
	var out []string
	seen := map[string]bool{}
	for _, a := range aces {
		allow := a.typ == aceTypeAccessAllowed || a.typ == aceTypeAccessAllowedCallback
		if !allow || a.flags&aceFlagInheritOnly != 0 || a.mask&readingRights == 0 {
			continue
		}
		if !ok[a.sid] && !seen[a.sid] {
			seen[a.sid] = true
			out = append(out, a.sid)
		}
	}
	return out
}

// privateSDDL is the private access list, in SDDL, for the user of SID
// user: protected (P), full access (FA) for the user, SYSTEM (SY) and
// Administrators (BA), inherited by files and folders made inside (OICI).
func privateSDDL(user string) string {
	return "D:P(A;OICI;FA;;;" + user + ")(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
}
