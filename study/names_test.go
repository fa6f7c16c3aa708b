package study_test

import (
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"golang.org/x/text/unicode/norm"

	"imageshare/study"
)

// TestCheckName: the names a study's files may have, as the strictest of
// Windows, macOS and Linux allows them (PROTOCOL.md §3, "A valid path").
func TestCheckName(t *testing.T) {
	rep := strings.Repeat
	ok := []string{
		"IM0001.dcm",
		"series-1/IM0001.dcm",
		"Σειρά 1/εικόνα.dcm",
		"Serie 2/Bild ß.dcm",
		" leading space",
		"a b/c d.dcm",
		".hidden",
		"a.b.c",
		// Not devices: longer, or another character after the name.
		"CONSOLE.dcm", "CON2", "COM10", "LPT", "LPTX.dcm", "NULL", "conin", "CONOUT", "AUX_1", "xCON", "com¹0", "COM⁴",
		// Not short names: no digits after the ~, a long base or extension.
		"a~b.dcm", "series~1.dicom", "longname~1.dcm", "a~1b", "a~", "a.b~1",
		// Characters Windows keeps as they are: lookalikes of / and :.
		"a\u2215b", "a\uff1ab", "a\uff0fb",
		// Four bytes, two UTF-16 units, one character.
		"𝄞.dcm",
		// Boundaries of an element: 254 and 255 bytes.
		rep("a", 254), rep("a", 255), "x/" + rep("a", 255),
		// 127 é composed (254 bytes), 254 UTF-16 units decomposed.
		rep("é", 127),
		// 63 characters of 4 bytes: 252 bytes, 126 UTF-16 units.
		rep("𝄞", 63),
		// ǖ is 2 bytes composed and 3 UTF-16 units decomposed: 85 make
		// 170 bytes and 255 units, as HFS+ stores them.
		rep("ǖ", 85), rep("ǖ", 84) + "a",
		// 85 Hangul syllables: 255 bytes, 255 units decomposed (ㅎ ㅏ ㄴ).
		rep("한", 85),
		// A whole name of 1024 bytes.
		rep(rep("a", 200)+"/", 5) + rep("b", 19),
	}
	for _, name := range ok {
		if err := study.CheckName(name); err != nil {
			t.Errorf("CheckName(%.60q): %v, want it accepted", name, err)
		}
		checkAccepted(t, name)
	}

	bad := []struct{ name, want string }{
		// Not a relative name.
		{"", "empty name"},
		{"/etc/passwd", `empty, "." or ".." element`},
		{"a/", `empty, "." or ".." element`},
		{"a//b", `empty, "." or ".." element`},
		{".", `empty, "." or ".." element`},
		{"..", `".." element`},
		{"../escape", `".." element`},
		{"a/./b", `".." element`},
		{"a/../../b", `".." element`},
		{"a\xffb", "not UTF-8"},
		{"a\xed\xa0\x80b", "not UTF-8"}, // an encoded surrogate, which NTFS could hold
		// Characters Windows refuses, or takes for a drive or a stream.
		{`a\b`, "Windows does not allow"},
		{`..\escape`, "Windows does not allow"},
		{"C:escape", "Windows does not allow"},
		{"a:b", "Windows does not allow"},
		{"IM1.dcm::$DATA", "Windows does not allow"},
		{"a*b", "Windows does not allow"},
		{"a?b", "Windows does not allow"},
		{`a"b`, "Windows does not allow"},
		{"a<b", "Windows does not allow"},
		{"a>b", "Windows does not allow"},
		{"a|b", "Windows does not allow"},
		{"a\x00b", "control character"},
		{"a\x01b", "control character"},
		{"a\tb", "control character"},
		{"a\nb", "control character"},
		{"a\x1fb", "control character"},
		{"a\x7fb", "control character"},
		// Win32 drops a trailing dot or space: a. and a would be one file.
		{"a.", "ending in a dot or space"},
		{"a ", "ending in a dot or space"},
		{"a./b", "ending in a dot or space"},
		{"a /b", "ending in a dot or space"},
		{"x/a. ", "ending in a dot or space"},
		{"...", "ending in a dot or space"},
		{" ", "ending in a dot or space"},
		{"   ", "ending in a dot or space"},
		{"a/. ./b", "ending in a dot or space"},
		// Devices, in any folder, in any ASCII case, with or without an
		// extension, with spaces before it.
		{"CON", "Windows device"},
		{"con", "Windows device"},
		{"Con.txt", "Windows device"},
		{"PRN.dcm", "Windows device"},
		{"AUX", "Windows device"},
		{"nul", "Windows device"},
		{"nul.tar.gz", "Windows device"},
		{"CON .dcm", "Windows device"},
		{"series/CON.dcm", "Windows device"},
		{"a/CON/b.dcm", "Windows device"},
		{"CONIN$", "Windows device"},
		{"conout$.log", "Windows device"},
		{"COM0", "Windows device"},
		{"COM1", "Windows device"},
		{"com9.dcm", "Windows device"},
		{"LPT0", "Windows device"},
		{"lpt1", "Windows device"},
		{"LPT9.txt", "Windows device"},
		{"COM¹", "Windows device"},
		{"com².dcm", "Windows device"},
		{"LPT³", "Windows device"},
		// 8.3 short names.
		{"SERIES~1.DCM", "short name"},
		{"series~1", "short name"},
		{"x/PROGRA~1/a", "short name"},
		{"AB12~10.txt", "short name"},
		{"~1", "short name"},
		// Boundaries of an element: 256 bytes.
		{rep("a", 256), "256 bytes, more than 255"},
		{"x/" + rep("a", 256) + "/y", "256 bytes, more than 255"},
		{rep("é", 128), "256 bytes, more than 255"},
		{rep("𝄞", 64), "256 bytes, more than 255"},
		// Within 255 bytes, beyond 255 UTF-16 units as HFS+ stores them.
		{rep("ǖ", 85) + "a", "256 UTF-16 code units decomposed"},
		{rep("ǖ", 86), "258 UTF-16 code units decomposed"},
		// A whole name of 1025 bytes.
		{rep(rep("a", 200)+"/", 5) + rep("b", 20), "1025 bytes long, more than 1024"},
	}
	for _, tt := range bad {
		err := study.CheckName(tt.name)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CheckName(%.60q): %v, want an error with %q", tt.name, err, tt.want)
		}
	}
}

// checkAccepted checks what a name CheckName accepts must be, by other
// means than CheckName's: clean, local, and folded by FoldName into a key
// with the same folders.
func checkAccepted(t *testing.T, name string) {
	t.Helper()
	if path.Clean(name) != name || !filepath.IsLocal(name) || strings.ContainsAny(name, `\:*?"<>|`) {
		t.Errorf("%.60q accepted, but it is not a clean local name", name)
	}
	for el := range strings.SplitSeq(name, "/") {
		if len(el) > 255 || len(utf16.Encode([]rune(el))) > 255 || strings.TrimRight(el, ". ") != el {
			t.Errorf("%.60q accepted, with the element %.60q", name, el)
		}
	}
	if key := study.FoldName(name); strings.Count(key, "/") != strings.Count(name, "/") {
		t.Errorf("%.60q accepted, but its key %.60q has other folders", name, key)
	}
}

// FuzzCheckName: what CheckName accepts is a clean, local name of short
// elements, whose key keeps its folders.
func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"series-1/IM0001.dcm", "Σειρά 1/εικόνα.dcm", "CON.dcm", "a./b", "SERIES~1.DCM",
		strings.Repeat("ǖ", 85), "straße/ß", "ﬁ/İ", "a\u2215b", "..", " /x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if study.CheckName(name) == nil {
			checkAccepted(t, name)
		}
	})
}

// The element limits hold for UTF-16 as well as UTF-8: no character takes
// more UTF-16 code units than bytes, so 255 bytes are at most 255 units.
func TestElementLimitIsUTF16Too(t *testing.T) {
	for _, s := range []string{"a", "é", "€", "한", "𝄞", "\U0010FFFD"} {
		if u := len(utf16.Encode([]rune(s))); u > len(s) {
			t.Errorf("%q: %d UTF-16 units, %d bytes", s, u, len(s))
		}
	}
}

// TestFoldName: names that a case-insensitive or normalization-insensitive
// file system takes for one file fold to one key.
func TestFoldName(t *testing.T) {
	same := [][2]string{
		{"IM1.dcm", "im1.DCM"},
		{"Series-001/IM1", "series-001/im1"},
		{norm.NFC.String("série"), norm.NFD.String("série")},
		{norm.NFC.String("SÉRIE"), norm.NFD.String("série")},
		{"straße", "STRASSE"},
		{"straße", "STRAẞE"},
		{"ΣΕΙΡΆ", "σειρά"},
		{"σ", "ς"},
		{"ſ", "s"},
		{"\u212a", "k"}, // KELVIN SIGN
		{"\u212b", "å"}, // ANGSTROM SIGN
		{"İ", "i"},
		{"Ǆ", "ǆ"},
		{"ﬁ", "FI"},
	}
	for _, p := range same {
		if a, b := study.FoldName(p[0]), study.FoldName(p[1]); a != b {
			t.Errorf("FoldName(%q) = %q, FoldName(%q) = %q, want them equal", p[0], a, p[1], b)
		}
	}
	differ := [][2]string{
		{"a", "b"},
		{"a.b", "ab"},
		{"a/b", "a-b"},
		{"IM1", "IM1 "},
		{"e", "é"},
	}
	for _, p := range differ {
		if a, b := study.FoldName(p[0]), study.FoldName(p[1]); a == b {
			t.Errorf("FoldName(%q) = FoldName(%q) = %q, want them apart", p[0], p[1], a)
		}
	}
}

// TestLongWindowsPath: the longest path a study makes, in UTF-16 code
// units, against MAX_PATH less its NUL (259): 258, 259, 260.
func TestLongWindowsPath(t *testing.T) {
	dir := `C:\Users\radiographer\Desktop\Studies\study-20261127-9a59f8d7f3172fc0`
	room := study.MaxWindowsPath - len(dir) - 1 // for the name after dir and "\"
	for _, tt := range []struct {
		dir   string
		names []string
		want  int // 0: no warning
	}{
		{dir, []string{"IM1.dcm", "series-1/" + strings.Repeat("a", room-10)}, 0},
		{dir, []string{"series-1/" + strings.Repeat("a", room-9)}, 0},
		{dir, []string{"series-1/" + strings.Repeat("a", room-8), "IM1.dcm"}, 260},
		{dir + `\`, []string{"series-1/" + strings.Repeat("a", room-8)}, 260},
		// A character of two UTF-16 units counts twice.
		{dir, []string{"series-1/" + strings.Repeat("a", room-11) + "𝄞"}, 0},
		{dir, []string{"series-1/" + strings.Repeat("a", room-10) + "𝄞"}, 260},
		// A character of three bytes counts once.
		{dir, []string{"series-1/" + strings.Repeat("한", room-9)}, 0},
		{dir, []string{"a", "b/" + strings.Repeat("c", 300), "d"}, len(dir) + 1 + 302},
	} {
		longest, units := study.LongWindowsPath(tt.dir, tt.names)
		if units != tt.want {
			t.Errorf("LongWindowsPath(%d-unit names): %d units (%.40q…), want %d", len(tt.names), units, longest, tt.want)
			continue
		}
		if tt.want == 0 {
			if longest != "" {
				t.Errorf("LongWindowsPath: %q with no warning", longest)
			}
			continue
		}
		if !strings.HasPrefix(longest, dir+`\`) || strings.Contains(longest, "/") || strings.Contains(longest, `\\`) {
			t.Errorf("LongWindowsPath: %q, want a Windows path under %s", longest, dir)
		}
		if got := len(utf16.Encode([]rune(longest))); got != units {
			t.Errorf("LongWindowsPath: %q is %d units, reported %d", longest, got, units)
		}
	}
}
