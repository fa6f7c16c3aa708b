//go:build windows

package private

import (
	"fmt"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

// needsProtect: a file's mode does not make it private on Windows; its
// access list does.
const needsProtect = true

// Protect gives the open file f the private access list. It sets it by
// name: a handle from os.OpenFile has no WRITE_DAC access (GENERIC_WRITE
// does not include it), while the owner may always change an access list.
func Protect(f *os.File) error { return protect(f.Name()) }

// protectDir gives the folder dir the private access list, which
// SetNamedSecurityInfo also passes on to what is in it already.
func protectDir(dir string) error { return protect(dir) }

func protect(name string) error {
	sd, err := privateDescriptor()
	if err != nil {
		return fmt.Errorf("making %s private: %w", name, err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("making %s private: %w", name, err)
	}
	err = windows.SetNamedSecurityInfo(name, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
	if err != nil {
		return fmt.Errorf("making %s private: %w", name, err)
	}
	return nil
}

// privateDescriptor is the security descriptor of the package comment,
// for the user running this process.
func privateDescriptor() (*windows.SECURITY_DESCRIPTOR, error) {
	user, err := currentUser()
	if err != nil {
		return nil, err
	}
	return windows.SecurityDescriptorFromString(privateSDDL(user))
}

func currentUser() (string, error) {
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("finding the user running imageshare: %w", err)
	}
	return tu.User.Sid.String(), nil
}

func check(f *os.File) error {
	sd, err := windows.GetSecurityInfo(windows.Handle(f.Fd()), windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("reading the access list of %s: %w", f.Name(), err)
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return fmt.Errorf("reading the owner of %s: %w", f.Name(), err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("reading the access list of %s: %w", f.Name(), err)
	}
	fix := `icacls "` + f.Name() + `" /inheritance:r /grant:r "%USERNAME%:F" /grant:r SYSTEM:F /grant:r Administrators:F`
	if dacl == nil {
		// No access list at all grants everyone everything.
		return &ExposedError{Path: f.Name(), Why: "has no access list", Fix: fix}
	}
	user, err := currentUser()
	if err != nil {
		return err
	}
	others := readers(entries(dacl), owner.String(), user)
	if len(others) == 0 {
		return nil
	}
	names := make([]string, len(others))
	for i, s := range others {
		names[i] = accountName(s)
		fix += ` /remove "` + names[i] + `"`
	}
	return &ExposedError{Path: f.Name(), Why: "has an access list that lets " + strings.Join(names, ", ") + " read it", Fix: fix}
}

// entries reads an access list's entries for readers.
func entries(acl *windows.ACL) []ace {
	var out []ace
	for i := range uint32(acl.AceCount) {
		var a *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(acl, i, &a); err != nil {
			continue
		}
		e := ace{typ: a.Header.AceType, flags: a.Header.AceFlags, mask: uint32(a.Mask)}
		if e.typ == aceTypeAccessAllowed || e.typ == aceTypeAccessAllowedCallback {
			e.sid = (*windows.SID)(unsafe.Pointer(&a.SidStart)).String()
		}
		out = append(out, e)
	}
	return out
}

// accountName is DOMAIN\name for a SID, or the SID itself.
func accountName(sid string) string {
	s, err := windows.StringToSid(sid)
	if err != nil {
		return sid
	}
	account, domain, _, err := s.LookupAccount("")
	if err != nil {
		return sid
	}
	if domain != "" {
		return domain + `\` + account
	}
	return account
}
