package osservice

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The launchd property lists in dist/launchd, read as launchd reads them:
// plutil is not on Linux, so this is a small plist reader over
// encoding/xml, which also refuses what XML forbids (a "--" inside a
// comment, which is easy to write in an install note).

// readPlist reads an XML property list into maps, slices, strings, int64s
// and bools.
func readPlist(path string) (any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d := xml.NewDecoder(f)
	var root any
	for {
		tok, err := d.Token()
		if err != nil {
			if root != nil && errors.Is(err, io.EOF) {
				return root, nil
			}
			return nil, err
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if se.Name.Local != "plist" {
			return nil, fmt.Errorf("root element <%s>, want <plist>", se.Name.Local)
		}
		if v := attr(se, "version"); v != "1.0" {
			return nil, fmt.Errorf("plist version %q", v)
		}
		if root != nil {
			return nil, fmt.Errorf("two <plist> elements")
		}
		vals, err := plistChildren(d)
		if err != nil {
			return nil, err
		}
		if len(vals) != 1 {
			return nil, fmt.Errorf("<plist> holds %d values, want 1", len(vals))
		}
		root = vals[0]
	}
}

func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// plistChildren reads the values up to the enclosing element's end.
func plistChildren(d *xml.Decoder) ([]any, error) {
	var vals []any
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return vals, nil
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				return nil, fmt.Errorf("text %q between values", t)
			}
		case xml.StartElement:
			v, err := plistValue(d, t)
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
		}
	}
}

// key is a dict's key, as read among its children.
type key string

func plistValue(d *xml.Decoder, se xml.StartElement) (any, error) {
	text := func() (string, error) {
		var s string
		err := d.DecodeElement(&s, &se)
		return s, err
	}
	switch se.Name.Local {
	case "key":
		s, err := text()
		return key(s), err
	case "string":
		return text()
	case "integer":
		s, err := text()
		if err != nil {
			return nil, err
		}
		return strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	case "true", "false":
		if err := d.Skip(); err != nil {
			return nil, err
		}
		return se.Name.Local == "true", nil
	case "array":
		vals, err := plistChildren(d)
		for _, v := range vals {
			if _, ok := v.(key); ok {
				return nil, fmt.Errorf("<key> in an <array>")
			}
		}
		return vals, err
	case "dict":
		vals, err := plistChildren(d)
		if err != nil {
			return nil, err
		}
		if len(vals)%2 != 0 {
			return nil, fmt.Errorf("<dict> with %d children: keys and values do not pair", len(vals))
		}
		m := map[string]any{}
		for i := 0; i < len(vals); i += 2 {
			k, ok := vals[i].(key)
			if !ok {
				return nil, fmt.Errorf("<dict> child %d is %T, want a <key>", i, vals[i])
			}
			if _, ok := vals[i+1].(key); ok {
				return nil, fmt.Errorf("<key>%s</key> followed by another key", k)
			}
			if _, dup := m[string(k)]; dup {
				return nil, fmt.Errorf("<key>%s</key> twice", k)
			}
			m[string(k)] = vals[i+1]
		}
		return m, nil
	}
	return nil, fmt.Errorf("unknown plist element <%s>", se.Name.Local)
}

func TestReadPlistRefuses(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"dashes in a comment": `<plist version="1.0"><!-- sender --spool --><dict/></plist>`,
		"odd dict":            `<plist version="1.0"><dict><key>A</key></dict></plist>`,
		"two keys":            `<plist version="1.0"><dict><key>A</key><key>B</key></dict></plist>`,
		"duplicate key":       `<plist version="1.0"><dict><key>A</key><true/><key>A</key><true/></dict></plist>`,
		"bad integer":         `<plist version="1.0"><dict><key>A</key><integer>x</integer></dict></plist>`,
		"unknown element":     `<plist version="1.0"><dict><key>A</key><bool/></dict></plist>`,
		"not a plist":         `<dict/>`,
		"unclosed":            `<plist version="1.0"><dict>`,
	} {
		p := filepath.Join(dir, "x.plist")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		v, err := readPlist(p)
		if err == nil {
			t.Errorf("%s: read as %v", name, v)
		}
		t.Logf("%s: %v", name, err)
	}
}

func TestLaunchdPlists(t *testing.T) {
	for _, tc := range []struct {
		file    string
		program string
		args    []string
		user    string
		log     string
		umask   int64
	}{
		{
			file:    "org.imageshare.sender.plist",
			program: "/usr/local/bin/sender",
			args:    []string{"serve", "--spool", "/Library/Application Support/imageshare/spool"},
			user:    "_imageshare",
			log:     "/Library/Logs/imageshare/sender.log",
			umask:   0o007,
		},
		{
			file:    "org.imageshare.relay.plist",
			program: "/usr/local/bin/imageshare-relay",
			args:    []string{"--identity", "/Library/Application Support/imageshare-relay/relay.key"},
			user:    "_imageshare_relay",
			log:     "/Library/Logs/imageshare/relay.log",
			umask:   0o077,
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("..", "..", "dist", "launchd", tc.file)
			v, err := readPlist(path)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			p, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("top value is %T, want a dict", v)
			}
			want := func(k string, w any) {
				t.Helper()
				if got := p[k]; fmt.Sprint(got) != fmt.Sprint(w) {
					t.Errorf("%s = %v, want %v", k, got, w)
				}
			}
			want("Label", strings.TrimSuffix(tc.file, ".plist"))
			want("RunAtLoad", true)
			want("UserName", tc.user)
			want("GroupName", tc.user)
			want("StandardOutPath", tc.log)
			want("StandardErrorPath", tc.log)
			want("Umask", tc.umask)
			want("ThrottleInterval", int64(5))
			// Restarted when it fails, left stopped when stopped.
			want("KeepAlive", map[string]any{"SuccessfulExit": false})
			var args []string
			list, _ := p["ProgramArguments"].([]any)
			for _, a := range list {
				s, ok := a.(string)
				if !ok {
					t.Fatalf("ProgramArguments holds %T", a)
				}
				args = append(args, s)
			}
			if len(args) == 0 || args[0] != tc.program || !slices.Equal(args[1:], tc.args) {
				t.Errorf("ProgramArguments = %q, want %s %q", args, tc.program, tc.args)
			}
			if _, ok := p["Program"]; ok {
				t.Error("both Program and ProgramArguments")
			}
			if dir, _ := p["WorkingDirectory"].(string); !strings.HasPrefix(dir, "/Library/Application Support/imageshare") {
				t.Errorf("WorkingDirectory = %q", dir)
			}
			for k := range p {
				if !slices.Contains([]string{"Label", "ProgramArguments", "EnvironmentVariables", "UserName", "GroupName", "Umask",
					"WorkingDirectory", "RunAtLoad", "KeepAlive", "ThrottleInterval", "SoftResourceLimits", "HardResourceLimits",
					"StandardOutPath", "StandardErrorPath"}, k) {
					t.Errorf("unexpected key %s (misspelt? launchd ignores unknown keys)", k)
				}
			}
			// The install notes in the comment name this file and its label.
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{"launchctl bootstrap system /Library/LaunchDaemons/" + tc.file, tc.user, tc.log} {
				if !strings.Contains(string(b), s) {
					t.Errorf("the install notes lack %q", s)
				}
			}
		})
	}
}
