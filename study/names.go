package study

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// The names of a study's files are checked here, once, for every disk the
// study may be written to or copied to later: the sender checks the names
// it reads from its disk, and the receiver every name a manifest holds,
// whatever system either runs on. A study that arrives on Linux can so be
// copied to a Windows PACS or a Mac. docs/PROTOCOL.md §3 ("A valid path")
// states the same rules for a second implementation; change both together.
//
// What each system refuses or changes, and so what is refused here:
//
//   - Windows (NTFS, through the Win32 API that Explorer, PACS import tools
//     and Go's os package use): the characters \ : * ? " < > | and
//     U+0000–U+001F; a trailing dot or space, which Win32 strips (a. and a
//     are one file); the device names CON, PRN, AUX, NUL, CONIN$, CONOUT$,
//     COM0–COM9, LPT0–LPT9 and COM¹²³, LPT¹²³, in any folder, with or
//     without an extension (Windows 11 frees CON.txt, Windows 10 does not);
//     255 UTF-16 code units an element; names compared without case.
//     8.3 short names: on a volume that makes them, a file "series-0001.dcm"
//     is also "SERIES~1.DCM", so a second file of that name would replace
//     the first.
//   - macOS: APFS takes 255 bytes of UTF-8 an element and compares names
//     without case and without normalization (é as one character or as e
//     and an accent); HFS+ stores names decomposed (NFD), 255 UTF-16 code
//     units of it. ":" is shown as "/" by the Finder.
//   - Linux: 255 bytes an element; "/" and NUL only.
//
// Rules no system needs but a reader does: a relative, slash-separated
// name of at most MaxNameLength bytes with no empty, "." or ".." element,
// and no DEL (U+007F).

// Limits of a name, in bytes of UTF-8.
const (
	MaxNameLength    = 1024 // a whole name, its elements joined with "/"
	MaxElementLength = 255  // one element: APFS's and Linux's limit
)

// MaxWindowsPath is the longest full path, in UTF-16 code units, that
// Windows programs without long-path support open: MAX_PATH (260) less
// its terminating NUL. Explorer and many PACS import tools are such
// programs; this program is not (see LongWindowsPath).
const MaxWindowsPath = 259

// CheckName checks that a relative, slash-separated name can be created,
// as it is, on Linux, macOS and Windows alike, and would not be changed or
// merged with another name by any of them (but for case and Unicode
// normalization, which FoldName covers). The sender checks its names with
// it, and the receiver every name a manifest holds.
func CheckName(rel string) error {
	switch {
	case rel == "":
		return errors.New("empty name")
	case !utf8.ValidString(rel):
		return fmt.Errorf("name %q is not UTF-8", rel)
	case len(rel) > MaxNameLength:
		return fmt.Errorf("name is %d bytes long, more than %d", len(rel), MaxNameLength)
	}
	for _, r := range rel {
		switch {
		case r < 0x20 || r == 0x7f:
			return fmt.Errorf("name %q holds a control character", rel)
		case strings.ContainsRune(`\:*?"<>|`, r):
			return fmt.Errorf("name %q holds one of \\:*?\"<>|, which Windows does not allow", rel)
		}
	}
	for el := range strings.SplitSeq(rel, "/") {
		if err := checkElement(el); err != nil {
			return fmt.Errorf("name %q %w", rel, err)
		}
	}
	return nil
}

// checkElement checks one element of a name that holds no character
// CheckName refuses; its error completes `name "…" `.
func checkElement(el string) error {
	switch {
	case el == "" || el == "." || el == "..":
		return errors.New(`has an empty, "." or ".." element`)
	case len(el) > MaxElementLength:
		return fmt.Errorf("has an element of %d bytes, more than %d", len(el), MaxElementLength)
	case strings.HasSuffix(el, ".") || strings.HasSuffix(el, " "):
		return errors.New("has an element ending in a dot or space, which Windows drops")
	case isDeviceName(el):
		return errors.New("names a Windows device")
	case isShortName(el):
		return errors.New("has an element shaped like a Windows short name (8.3 with ~), which can be another file's")
	}
	if n := hfsUnits(el); n > MaxElementLength {
		return fmt.Errorf("has an element of %d UTF-16 code units decomposed (as a Mac's HFS+ stores it), more than %d", n, MaxElementLength)
	}
	return nil
}

// isDeviceName reports whether Windows takes el for a device: its part
// before the first dot, less trailing spaces, is a device's name in any
// ASCII case.
func isDeviceName(el string) bool {
	base, _, _ := strings.Cut(el, ".")
	base = asciiUpper(strings.TrimRight(base, " "))
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	for _, dev := range []string{"COM", "LPT"} {
		if n, ok := strings.CutPrefix(base, dev); ok {
			// Windows also reserves COM¹ to COM³ and LPT¹ to LPT³.
			return len(n) == 1 && n[0] >= '0' && n[0] <= '9' || n == "¹" || n == "²" || n == "³"
		}
	}
	return false
}

// isShortName reports whether el has the shape of a name Windows makes up
// for a long one on a volume with 8.3 names (FAT, and NTFS volumes that
// keep them): one to eight characters, a "~" and digits to the end, then
// perhaps a dot and one to three characters. Such a name can open another
// file of the study, one whose long name Windows shortened to it.
func isShortName(el string) bool {
	base, ext, dotted := strings.Cut(el, ".")
	if dotted && (ext == "" || len(ext) > 3 || strings.Contains(ext, ".")) || len(base) > 8 {
		return false
	}
	tilde := strings.LastIndexByte(base, '~')
	if tilde < 0 || tilde == len(base)-1 {
		return false
	}
	return strings.Trim(base[tilde+1:], "0123456789") == ""
}

// hfsUnits is a bound on how many UTF-16 code units HFS+ stores for el:
// each character decomposed (NFD), or as it is where HFS+ keeps it whole
// (it decomposes by Unicode 3.2, and not U+2000–U+2FFF, U+F900–U+FAFF or
// U+2F800–U+2FAFF), whichever is longer. Canonical reordering does not
// change the count, so characters can be counted one at a time.
func hfsUnits(el string) int {
	n := 0
	for _, r := range el {
		units := utf16.RuneLen(r)
		if r >= utf8.RuneSelf {
			d := 0
			for _, q := range norm.NFD.String(string(r)) {
				d += utf16.RuneLen(q)
			}
			units = max(units, d)
		}
		n += units
	}
	return n
}

func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}

// FoldName is the key under which two names are the same file on a
// case-insensitive or normalization-insensitive file system (NTFS, APFS,
// HFS+): Unicode composed (é as one character or as e and an accent),
// then case-folded both ways: through upper and lower case, so that σ and
// ς, s and ſ, or i and İ meet, and by Unicode's full case folding, so that
// ß and ss do. It merges more than any one system does, never less.
func FoldName(name string) string {
	lower := strings.ToLower(strings.ToUpper(norm.NFC.String(name)))
	// A Caser keeps state: one a call.
	return norm.NFC.String(cases.Fold().String(lower))
}

// LongWindowsPath returns the longest of the paths that dir (a folder's
// absolute path as Windows writes it, with "\") and each of names (as
// CheckName accepts them) make, and its length in UTF-16 code units, if
// that is more than MaxWindowsPath; else "" and 0.
//
// This program writes such paths: Go's os package gives a long absolute
// path the \\?\ prefix (fixLongPath in GOROOT/src/os/path_windows.go), and
// an os.Root opens the files in its folder relative to its handle
// (NtCreateFile with a RootDirectory, GOROOT/src/internal/syscall/windows/
// at_windows.go), where MAX_PATH does not apply. But Explorer, and the many
// PACS import tools that do not opt in to long paths, cannot open them.
func LongWindowsPath(dir string, names []string) (longest string, units int) {
	dir = strings.TrimRight(dir, `\/`)
	base := len(utf16.Encode([]rune(dir))) + 1 // and a "\"
	at := -1
	for i, name := range names {
		n := base
		for _, r := range name {
			n += utf16.RuneLen(r)
		}
		if n > units {
			at, units = i, n
		}
	}
	if units <= MaxWindowsPath {
		return "", 0
	}
	return dir + `\` + strings.ReplaceAll(names[at], "/", `\`), units
}
