package study

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/suyashkumar/dicom/pkg/tag"

	"imageshare/internal/dataset"
)

// A folder with a file named DICOMDIR at its top is a DICOM medium: a CD,
// DVD or USB stick written to IHE PDI, or a copy of one. Its DICOMDIR
// (PS3.10 section 8; PS3.3 annex F) lists the files that belong to the
// medium's studies; the rest is the medium's own (a viewer, autorun.inf).
//
//	preamble[128] "DICM" meta group    Media Storage SOP Class 1.2.840.10008.1.3.10
//	(0004,1220) Directory Record Sequence, usually of undefined length
//	  item: one directory record, usually of undefined length
//	    (0004,1410) Record In-use Flag     US; 0 marks a deleted record
//	    (0004,1430) Directory Record Type  CS: PATIENT, STUDY, SERIES, IMAGE, SR DOCUMENT, ...
//	    (0004,1500) Referenced File ID     CS, a value a path component: IMAGES\IM000001
//	    ...                                other elements, nested sequences (icons): skipped
//
// Records form a tree by byte offsets; the scanner needs no tree, only the
// files, so it reads the records in order.

// Caps on what a DICOMDIR may declare.
const (
	// maxRecordValue caps the values read of a directory record: a
	// Referenced File ID holds at most 8 components of 8 characters.
	maxRecordValue = 4 << 10
)

// Errors wrapped where they apply.
var (
	// ErrNotOnMedium: a file the DICOMDIR lists is not in its folder.
	ErrNotOnMedium = errors.New("listed in DICOMDIR but missing")
	// ErrOutsideFolder: a DICOMDIR record names a file outside the
	// DICOMDIR's folder.
	ErrOutsideFolder = errors.New("names a file outside the DICOMDIR's folder")
)

// DICOMDIRError is a DICOMDIR that cannot be followed: it is not a media
// directory, its structure is broken, or a record names a file outside its
// folder. Nothing of the folder is read then.
type DICOMDIRError struct {
	Path   string // the DICOMDIR
	Record int    // the record at fault, counted from 1; 0 when the fault is not one record's
	Type   string // that record's Directory Record Type, e.g. IMAGE
	Err    error
}

var _ error = (*DICOMDIRError)(nil)

func (e *DICOMDIRError) Error() string {
	switch {
	case e.Record == 0:
		return fmt.Sprintf("%s: %v", e.Path, e.Err)
	case e.Type == "":
		return fmt.Sprintf("%s, record %d: %v", e.Path, e.Record, e.Err)
	}
	return fmt.Sprintf("%s, record %d (%s): %v", e.Path, e.Record, e.Type, e.Err)
}

func (e *DICOMDIRError) Unwrap() error { return e.Err }

// dirRecord is what the scanner keeps of a directory record.
type dirRecord struct {
	n      int      // counted from 1, in the order of the sequence
	typ    string   // Directory Record Type
	fileID []string // Referenced File ID, a component a value; nil when it has none
	unused bool     // Record In-use Flag 0: a deleted record
}

// IsMedium reports whether the folder dir has a DICOMDIR at its top: one
// that ScanPaths follows.
func IsMedium(dir string) bool {
	name, err := findDICOMDIR(dir)
	return err == nil && name != ""
}

// findDICOMDIR returns the name of the DICOMDIR at the top of folder dir,
// or "" when there is none. The name is compared without case, and without
// the version (";1") and trailing dot an ISO 9660 file system may show.
func findDICOMDIR(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("reading folder %s: %w", dir, err)
	}
	found := ""
	for _, e := range entries {
		if !strings.EqualFold(plainName(e.Name()), "DICOMDIR") || e.IsDir() {
			continue
		}
		if fi, err := os.Stat(filepath.Join(dir, e.Name())); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if found == "" || e.Name() == "DICOMDIR" {
			found = e.Name()
		}
	}
	return found, nil
}

// plainName is an ISO 9660 name without its version (";1") and the dot
// that ends a name without extension ("IM000001.;1"): the name DICOMDIR
// uses. Other names are as they are.
func plainName(name string) string {
	if i := strings.LastIndexByte(name, ';'); i >= 0 && i < len(name)-1 && strings.Trim(name[i+1:], "0123456789") == "" {
		name = name[:i]
	}
	if len(name) > 1 && strings.HasSuffix(name, ".") {
		name = name[:len(name)-1]
	}
	return name
}

// readMedia lists the files that the DICOMDIR name, at the top of the folder
// root (real: root with symlinks resolved), references, as walk lists a
// folder's; every other file of the folder goes to scan.Skipped. A file
// DICOMDIR lists that is not there is a problem in scan; a DICOMDIR that
// cannot be read or followed is a *DICOMDIRError.
func readMedia(ctx context.Context, root, real, top, name string, scan *Scan) ([]candidate, error) {
	records, err := readDICOMDIR(filepath.Join(real, name))
	if err != nil {
		var de *DICOMDIRError
		if errors.As(err, &de) {
			de.Path = filepath.Join(root, name)
			return nil, de
		}
		return nil, err
	}
	// The whole folder, to tell what DICOMDIR leaves out.
	var listing Scan
	all, err := walkFolder(ctx, root, real, top, &listing)
	if err != nil {
		return nil, err
	}

	r := resolver{real: real, dirs: map[string]map[string][]fs.DirEntry{}}
	listed := map[string]bool{} // paths of the files found, as shown
	var found []candidate
	missing := 0
	for _, rec := range records {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if rec.fileID == nil || rec.unused {
			continue
		}
		rel, err := r.resolve(rec.fileID)
		if err != nil {
			missing++
			scan.Problems = append(scan.Problems, &FileError{
				Path: filepath.Join(append([]string{root}, rec.fileID...)...),
				Err:  fmt.Errorf("%w (%s record %d, %s)", err, name, rec.n, orDash(rec.typ)),
			})
			continue
		}
		shown := filepath.Join(root, filepath.FromSlash(rel))
		if listed[shown] {
			continue // another record names the same file
		}
		listed[shown] = true
		plain := strings.Split(rel, "/")
		for i, el := range plain {
			plain[i] = plainName(el)
		}
		found = append(found, candidate{path: shown, rel: path.Join(top, path.Join(plain...))})
	}
	if len(listed) == 0 && missing == 0 {
		return nil, &DICOMDIRError{Path: filepath.Join(root, name), Err: errors.New("lists no file")}
	}

	// The rest of the folder is the medium's: a viewer, autorun.inf, the
	// DICOMDIR itself. What cannot be read of it is no problem either.
	before := len(scan.Skipped)
	for _, c := range all {
		if !listed[c.path] {
			scan.Skipped = append(scan.Skipped, c.path)
		}
	}
	for _, p := range listing.Skipped {
		if !listed[p] {
			scan.Skipped = append(scan.Skipped, p)
		}
	}
	for _, p := range listing.Problems {
		if !listed[p.Path] {
			scan.Skipped = append(scan.Skipped, p.Path)
		}
	}
	scan.Media = append(scan.Media, Media{DICOMDIR: filepath.Join(root, name),
		Listed: len(listed) + missing, Unlisted: len(scan.Skipped) - before})
	return found, nil
}

// resolver finds the files a DICOMDIR names in its folder, comparing names
// as the medium's file system may show them: in lower case, or with an ISO
// 9660 version. It reads each folder once.
type resolver struct {
	real string
	dirs map[string]map[string][]fs.DirEntry // slash-separated folder ("" the top) to entries by key
}

// key is the name under which a folder entry or a component is looked up.
func key(name string) string { return FoldName(plainName(name)) }

// resolve returns the path, relative to the top, slash-separated, of the
// regular file that the components of a Referenced File ID name. Each
// component is the entry of that name if there is one, else the one entry
// of that name but for case and ISO 9660 decoration. Symlinked folders are
// not followed, as in walk; a symlinked file is if it stays on the medium.
func (r *resolver) resolve(components []string) (string, error) {
	rel := ""
	for i, c := range components {
		entries, err := r.folder(rel)
		if err != nil {
			return "", err
		}
		matches := entries[key(c)]
		var e fs.DirEntry
		for _, m := range matches {
			if m.Name() == c {
				e = m
			}
		}
		switch {
		case e != nil:
		case len(matches) == 1:
			e = matches[0]
		case len(matches) == 0:
			return "", ErrNotOnMedium
		default:
			return "", fmt.Errorf("%s and %s both match %q, which DICOMDIR names", path.Join(rel, matches[0].Name()), path.Join(rel, matches[1].Name()), c)
		}
		rel = path.Join(rel, e.Name())
		if i < len(components)-1 {
			if !e.IsDir() {
				return "", fmt.Errorf("%w: %s is not a folder", ErrNotOnMedium, rel)
			}
			continue
		}
		full := filepath.Join(r.real, filepath.FromSlash(rel))
		fi, err := os.Stat(full)
		if err == nil && e.Type()&fs.ModeSymlink != 0 {
			err = symlinkInside(r.real, full)
		}
		switch {
		case err != nil:
			return "", unwrapPath(err)
		case fi.IsDir():
			return "", fmt.Errorf("%w: %s is a folder", ErrNotOnMedium, rel)
		case !fi.Mode().IsRegular():
			return "", fmt.Errorf("%w: %s is not a regular file", ErrNotOnMedium, rel)
		}
	}
	return rel, nil
}

// folder returns the entries of the folder rel by key.
func (r *resolver) folder(rel string) (map[string][]fs.DirEntry, error) {
	if m, ok := r.dirs[rel]; ok {
		return m, nil
	}
	entries, err := os.ReadDir(filepath.Join(r.real, filepath.FromSlash(rel)))
	if err != nil {
		return nil, unwrapPath(err)
	}
	m := map[string][]fs.DirEntry{}
	for _, e := range entries {
		m[key(e.Name())] = append(m[key(e.Name())], e)
	}
	r.dirs[rel] = m
	return m, nil
}

// readDICOMDIR reads the records of the DICOMDIR name. Its errors about
// the file's content are *DICOMDIRErrors naming it.
func readDICOMDIR(name string) ([]dirRecord, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, &DICOMDIRError{Path: name, Err: unwrapPath(err)}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, &DICOMDIRError{Path: name, Err: unwrapPath(err)}
	}
	records, err := parseDICOMDIR(f, fi.Size())
	if err != nil {
		var de *DICOMDIRError
		if !errors.As(err, &de) {
			de = &DICOMDIRError{Err: err}
		}
		de.Path = name
		return nil, de
	}
	return records, nil
}

// parseDICOMDIR reads the directory records of the size bytes of ra, a
// DICOMDIR. Like readInstance, it checks every length against what holds it
// before it reads a value, and reads only the values it keeps, capped. An
// error about one record is a *DICOMDIRError without Path.
func parseDICOMDIR(ra io.ReaderAt, size int64) ([]dirRecord, error) {
	head := make([]byte, 132)
	if n, _ := ra.ReadAt(head, 0); n < 132 || string(head[128:]) != "DICM" {
		return nil, fmt.Errorf("%w: no DICM prefix at byte 128, which a DICOMDIR has", ErrNotDICOM)
	}
	meta, err := readMeta(ra, size)
	if err != nil {
		return nil, err
	}
	if meta.class != mediaDirectoryClass {
		return nil, fmt.Errorf("not a DICOMDIR: its Media Storage SOP Class UID is %q, not %s", meta.class, mediaDirectoryClass)
	}
	ts := dataset.SyntaxOf(meta.ts)
	if ts.Deflated {
		return nil, fmt.Errorf("%w: a deflated DICOMDIR, which PS3.10 does not allow", ErrMalformed)
	}
	c := &dataset.FileSource{R: ra, Off: meta.end, Size: size}
	d := &dirReader{c: c, w: newWalker(c, ts)}
	seen := false
	for {
		if more, err := c.More(); err != nil {
			return nil, err
		} else if !more {
			break
		}
		at := c.Offset()
		b, err := c.Peek(12)
		if err != nil {
			return nil, err
		}
		h, err := decodeHeader(b, ts)
		if err != nil {
			return nil, fmt.Errorf("%w %s", err, c.Where(at))
		}
		switch {
		case h.Tag == 0 && h.Length == 0 && c.ZeroToEnd():
			return d.done(seen)
		case libTag(h.Tag) == tag.DirectoryRecordSequence:
			seen = true
			if err := d.sequence(h, at); err != nil {
				return nil, err
			}
		default:
			if err := d.w.Element(-1, 0); err != nil {
				return nil, err
			}
		}
	}
	return d.done(seen)
}

// dirReader reads the Directory Record Sequence of a DICOMDIR.
type dirReader struct {
	c       *dataset.FileSource
	w       *dataset.Walker
	records []dirRecord
}

func (d *dirReader) done(seen bool) ([]dirRecord, error) {
	if !seen {
		return nil, fmt.Errorf("%w: no Directory Record Sequence (0004,1220)", ErrMalformed)
	}
	return d.records, nil
}

// sequence reads the records of the Directory Record Sequence h, whose
// header is at at, as dataset.Walker walks a sequence.
func (d *dirReader) sequence(h dataset.Header, at int64) error {
	w, c := d.w, d.c
	vr := h.VR
	if w.Syntax.Implicit {
		vr = implicitVR(libTag(h.Tag))
	}
	if err := c.Skip(int64(h.Size)); err != nil {
		return fmt.Errorf("%w: the data ends inside element %s %s", ErrTruncated, tagName(h.Tag), c.Where(at))
	}
	if layout, _ := libraryLayout(h, w.Syntax); layout != dataset.Sequence {
		return fmt.Errorf("%w: %s %s has VR %s, not SQ", ErrMalformed, tagName(h.Tag), c.Where(at), vr)
	}
	seqEnd := int64(-1)
	if !h.Undefined() {
		if err := w.Fits(h, at, int64(h.Length), -1); err != nil {
			return err
		}
		seqEnd = c.Offset() + int64(h.Length)
	}
	for {
		if seqEnd >= 0 && c.Offset() >= seqEnd {
			return nil
		}
		it, l, err := w.ItemHeader(h, at)
		if err != nil {
			return err
		}
		switch {
		case it == dataset.SequenceDelimitationTag && seqEnd < 0:
			return nil
		case it != dataset.ItemTag:
			return fmt.Errorf("%w: %s in sequence %s %s", ErrMalformed, tagName(it), tagName(h.Tag), c.Where(at))
		}
		end := int64(-1)
		if l != dataset.UndefinedLength {
			if err := w.Fits(h, at, int64(l), seqEnd); err != nil {
				return err
			}
			end = c.Offset() + int64(l)
		}
		rec := dirRecord{n: len(d.records) + 1}
		if err := d.record(&rec, h, at, end); err != nil {
			return &DICOMDIRError{Record: rec.n, Type: rec.typ, Err: err}
		}
		d.records = append(d.records, rec)
	}
}

// record reads the elements of one record, an item of sequence h, to end,
// or when end is -1 to an item delimiter.
func (d *dirReader) record(rec *dirRecord, h dataset.Header, at, end int64) error {
	w, c := d.w, d.c
	var fileID []byte
	hasFileID := false
	for {
		if end >= 0 {
			if off := c.Offset(); off >= end {
				if off > end {
					return fmt.Errorf("%w: the record holds more than its length", ErrMalformed)
				}
				break
			}
		} else {
			b, err := c.Peek(8)
			if err != nil {
				return err
			}
			if len(b) < 8 {
				return fmt.Errorf("%w: the data ends inside the record", ErrTruncated)
			}
			if w.Syntax.Tag(b) == dataset.ItemDelimitationTag {
				if err := c.Skip(8); err != nil {
					return err
				}
				break
			}
		}
		eat := c.Offset()
		b, err := c.Peek(12)
		if err != nil {
			return err
		}
		eh, err := w.DecodeHeader(b)
		if err != nil {
			return fmt.Errorf("%w %s", err, c.Where(eat))
		}
		switch libTag(eh.Tag) {
		case tag.DirectoryRecordType, tag.ReferencedFileID, tag.RecordInUseFlag:
		default:
			if err := w.Element(end, 1); err != nil {
				return err
			}
			continue
		}
		value, err := d.value(eh, eat, end)
		if err != nil {
			return err
		}
		switch libTag(eh.Tag) {
		case tag.DirectoryRecordType:
			rec.typ = bare(strings.TrimSpace(trimValue(value)))
		case tag.ReferencedFileID:
			fileID, hasFileID = value, true
		case tag.RecordInUseFlag:
			rec.unused = len(value) == 2 && w.Syntax.ByteOrder.Uint16(value) == 0
		}
	}
	if hasFileID {
		var err error
		if rec.fileID, err = fileIDComponents(fileID); err != nil {
			return err
		}
	}
	return nil
}

// value reads the value of element h, whose header is at at, in a record
// that ends at end (-1: at a delimiter).
func (d *dirReader) value(h dataset.Header, at, end int64) ([]byte, error) {
	w, c := d.w, d.c
	if h.Undefined() {
		return nil, fmt.Errorf("%w: element %s %s has an undefined length", ErrMalformed, tagName(h.Tag), c.Where(at))
	}
	if h.Length > maxRecordValue {
		return nil, fmt.Errorf("%w: element %s %s is %d bytes long, more than the %d a directory record's may be", ErrMalformed, tagName(h.Tag), c.Where(at), h.Length, maxRecordValue)
	}
	if err := c.Skip(int64(h.Size)); err != nil {
		return nil, fmt.Errorf("%w: the data ends inside element %s %s", ErrTruncated, tagName(h.Tag), c.Where(at))
	}
	if err := w.Fits(h, at, int64(h.Length), end); err != nil {
		return nil, err
	}
	b, err := c.Peek(int(h.Length))
	if err != nil {
		return nil, err
	}
	if len(b) < int(h.Length) {
		return nil, fmt.Errorf("%w: the data ends inside element %s %s", ErrTruncated, tagName(h.Tag), c.Where(at))
	}
	return b, c.Skip(int64(h.Length))
}

// fileIDComponents splits a Referenced File ID, a multi-valued CS, into
// path components. It refuses any that could leave the DICOMDIR's folder:
// an absolute path, "..", a slash or a drive letter in a component.
func fileIDComponents(value []byte) ([]string, error) {
	raw := strings.TrimRight(string(value), " \x00")
	raw = strings.TrimLeft(raw, " ")
	shown := quoted(raw)
	if raw == "" {
		return nil, fmt.Errorf("%w: an empty Referenced File ID", ErrMalformed)
	}
	if strings.HasPrefix(raw, `\`) || strings.HasPrefix(raw, "/") {
		return nil, fmt.Errorf("its Referenced File ID %s %w: it is absolute", shown, ErrOutsideFolder)
	}
	components := strings.Split(raw, `\`)
	for i, c := range components {
		c = strings.TrimSpace(c)
		switch {
		case c == "..":
			return nil, fmt.Errorf("its Referenced File ID %s %w: it has a \"..\" component", shown, ErrOutsideFolder)
		case strings.ContainsAny(c, "/:"):
			return nil, fmt.Errorf("its Referenced File ID %s %w: a component holds a slash or a colon", shown, ErrOutsideFolder)
		case c == "" || c == ".":
			return nil, fmt.Errorf("%w: Referenced File ID %s has an empty or \".\" component", ErrMalformed, shown)
		case strings.ContainsFunc(c, func(r rune) bool { return r < 0x20 || r == 0x7f }):
			return nil, fmt.Errorf("%w: Referenced File ID %s holds a control character", ErrMalformed, shown)
		}
		components[i] = c
	}
	return components, nil
}

// quoted is s in quotes, with Go escapes only where it holds what a
// terminal would not show as it is: a Referenced File ID keeps its
// backslashes.
func quoted(s string) string {
	if strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) || r == '"' }) {
		return strconv.Quote(s)
	}
	return `"` + s + `"`
}

// bare is s as it is when a terminal shows it so, else quoted.
func bare(s string) string {
	if strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return strconv.Quote(s)
	}
	return s
}
