//go:build windows

package private

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/windows"
)

// TestWindowsPrivate: what MkdirAll and OpenFile make passes Check; a
// file that grants Everyone read access does not.
func TestWindowsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "imageshare", "spool")
	if err := MkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "offer.json")
	f, err := OpenFile(name, os.O_RDWR|os.O_CREATE)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Check(f); err != nil {
		t.Errorf("a private file: %v", err)
	}

	open := filepath.Join(t.TempDir(), "open.key")
	if err := os.WriteFile(open, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	sd, err := windows.SecurityDescriptorFromString("D:P(A;;FA;;;SY)(A;;FR;;;WD)")
	if err != nil {
		t.Fatal(err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		t.Fatal(err)
	}
	if err := windows.SetNamedSecurityInfo(open, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		t.Fatal(err)
	}
	g, err := os.Open(open)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var ex *ExposedError
	if err := Check(g); !errors.As(err, &ex) {
		t.Errorf("a file Everyone may read: %v", err)
	}
}
