package study

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// ScanOptions configures ScanPaths.
type ScanOptions struct {
	// Progress, if not nil, is called with the number of files read so far
	// and their total, always from the goroutine that called ScanPaths.
	Progress func(done, total int)
}

// candidate is a file the walk found, to be read.
type candidate struct {
	path, rel string
}

// member is a file read as an instance of a study.
type member struct {
	candidate
	size int64
	in   *instance
}

// ScanPaths reads every file under paths: a folder is read recursively, a
// file as itself. A folder with a DICOMDIR at its top (a CD, DVD or USB
// stick, or a copy of one) is read as the DICOMDIR says: the files it lists
// are read, and the others are skipped; naming the DICOMDIR itself names its
// folder. Problems with individual files are collected in the Scan, not
// returned; the error is for a path that cannot be read at all, a DICOMDIR
// that cannot be followed (a *DICOMDIRError), two files that would be sent
// under one name, or ctx ending.
//
// Each file's name in the offer (File.Rel) is its path relative to the folder
// named (on a medium, as the folder shows it, less any ISO 9660 version
// ";1"), or its base name when a file is named. When several paths are
// given, names under a folder start with the folder's base name. Names that
// a case-insensitive file system would merge count as one.
//
// Symlinks to folders are not followed, except a folder named in paths.
func ScanPaths(ctx context.Context, paths []string, opts ScanOptions) (*Scan, error) {
	if len(paths) == 0 {
		return nil, errors.New("no folder or file to read")
	}
	scan := &Scan{}
	names := nameSet{}
	var cands []candidate
	for _, root := range paths {
		found, err := walk(ctx, root, len(paths) > 1, scan)
		if err != nil {
			return nil, err
		}
		for _, c := range found {
			if err := CheckName(c.rel); err != nil {
				scan.Problems = append(scan.Problems, &FileError{Path: c.path, Err: err})
				continue
			}
			if err := names.add(c); err != nil {
				return nil, err
			}
			cands = append(cands, c)
		}
	}

	members, err := readAll(ctx, cands, opts.Progress, scan)
	if err != nil {
		return nil, err
	}
	byStudy := map[string][]member{}
	for _, m := range members {
		byStudy[m.in.studyUID] = append(byStudy[m.in.studyUID], m)
	}
	for _, ms := range byStudy {
		scan.Studies = append(scan.Studies, newStudy(ms, scan))
	}
	slices.SortFunc(scan.Studies, func(a, b *Study) int {
		x, y := a.Summary, b.Summary
		return cmp.Or(
			cmp.Compare(x.PatientName, y.PatientName),
			cmp.Compare(x.PatientID, y.PatientID),
			cmp.Compare(x.StudyDate, y.StudyDate),
			cmp.Compare(x.StudyTime, y.StudyTime),
			cmp.Compare(x.StudyUID, y.StudyUID))
	})
	slices.SortFunc(scan.Problems, func(a, b *FileError) int { return cmp.Compare(a.Path, b.Path) })
	slices.Sort(scan.Skipped)
	return scan, nil
}

// skipName reports whether a file or folder is left out by its name: dot
// files, the thumbnails and settings Windows leaves behind, and DICOMDIR, the
// index of a DICOM medium, which describes files rather than being one.
func skipName(name string) bool {
	return strings.HasPrefix(name, ".") ||
		strings.EqualFold(name, "Thumbs.db") ||
		strings.EqualFold(name, "desktop.ini") ||
		strings.EqualFold(name, "DICOMDIR")
}

// walk lists the files under root. Skipped files and folders, and folders
// that cannot be read, are recorded in scan.
func walk(ctx context.Context, root string, prefix bool, scan *Scan) ([]candidate, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, err // the error names root
	}
	if !fi.IsDir() {
		if strings.EqualFold(plainName(filepath.Base(root)), "DICOMDIR") && fi.Mode().IsRegular() {
			// A DICOMDIR named: its medium is meant.
			return walk(ctx, filepath.Dir(root), prefix, scan)
		}
		if skipName(filepath.Base(root)) || !fi.Mode().IsRegular() {
			scan.Skipped = append(scan.Skipped, root)
			return nil, nil
		}
		return []candidate{{path: root, rel: filepath.Base(root)}}, nil
	}
	// WalkDir does not follow a symlink at its root: resolve it, as the
	// folder was named.
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, err
	}
	top := ""
	if prefix {
		abs, err := filepath.Abs(root)
		if err != nil {
			return nil, err
		}
		if top = filepath.Base(abs); top == string(filepath.Separator) || top == "." {
			top = "root"
		}
	}
	// A DICOMDIR at the top makes the folder a DICOM medium: the files it
	// lists are read, and no other.
	dicomdir, err := findDICOMDIR(real)
	if err != nil {
		return nil, err
	}
	if dicomdir != "" {
		return readMedia(ctx, root, real, top, dicomdir, scan)
	}
	return walkFolder(ctx, root, real, top, scan)
}

// walkFolder lists the files under the folder root (real: root with
// symlinks resolved), named top/... in the offer. Skipped files and
// folders, and folders that cannot be read, are recorded in scan.
func walkFolder(ctx context.Context, root, real, top string, scan *Scan) ([]candidate, error) {
	var found []candidate
	err := filepath.WalkDir(real, func(p string, d fs.DirEntry, err error) error {
		if p == real {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, rerr := filepath.Rel(real, p)
		if rerr != nil {
			return rerr
		}
		shown := filepath.Join(root, rel)
		if err != nil {
			scan.Problems = append(scan.Problems, &FileError{Path: shown, Err: unwrapPath(err)})
			return nil
		}
		if skipName(d.Name()) {
			scan.Skipped = append(scan.Skipped, shown)
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			// A symlinked file is read if it stays inside the folder; a
			// symlinked folder is not followed.
			fi, err := os.Stat(p)
			if err == nil {
				err = symlinkInside(real, p)
			}
			if err != nil {
				scan.Problems = append(scan.Problems, &FileError{Path: shown, Err: unwrapPath(err)})
				return nil
			}
			if !fi.Mode().IsRegular() {
				scan.Skipped = append(scan.Skipped, shown)
				return nil
			}
		} else if !d.Type().IsRegular() {
			scan.Skipped = append(scan.Skipped, shown)
			return nil
		}
		found = append(found, candidate{path: shown, rel: path.Join(top, filepath.ToSlash(rel))})
		return nil
	})
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("reading folder %s: %w", root, err)
	}
	return found, nil
}

// symlinkInside returns nil if the symlink p leads to a file inside real,
// the folder named with its own symlinks resolved, and an error wrapping
// ErrOutsideRoot if it leads out of it: a medium or a folder cannot pick
// what else of the disk is sent.
func symlinkInside(real, p string) error {
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		return err
	}
	if rel, err := filepath.Rel(real, target); err != nil || !filepath.IsLocal(rel) {
		return fmt.Errorf("%w (it leads to %s)", ErrOutsideRoot, target)
	}
	return nil
}

// unwrapPath drops the path from an *fs.PathError, as a FileError names it.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// nameSet holds the names of an offer as a case-insensitive file system
// sees them, files and the folders they need.
type nameSet struct {
	files, dirs map[string]candidate
}

func (s *nameSet) add(c candidate) error {
	if s.files == nil {
		s.files, s.dirs = map[string]candidate{}, map[string]candidate{}
	}
	key := FoldName(c.rel)
	if prev, dup := s.files[key]; dup {
		return fmt.Errorf("%s and %s would both be sent as %s: rename one, or send them apart", prev.path, c.path, c.rel)
	}
	if prev, dup := s.dirs[key]; dup {
		return fmt.Errorf("%s would be sent as %s, which %s needs as a folder", c.path, c.rel, prev.path)
	}
	for d := path.Dir(key); d != "."; d = path.Dir(d) {
		if prev, dup := s.files[d]; dup {
			return fmt.Errorf("%s would be sent as %s, which %s needs as a folder", prev.path, prev.rel, c.path)
		}
		s.dirs[d] = c
	}
	s.files[key] = c
	return nil
}

// readAll reads the headers of cands with one worker a CPU. Files that are
// not instances of a study go to scan; the instances are returned.
func readAll(ctx context.Context, cands []candidate, progress func(done, total int), scan *Scan) ([]member, error) {
	type result struct {
		i    int
		size int64
		in   *instance
		err  error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	results := make(chan result)
	go func() {
		defer close(jobs)
		for i := range cands {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range min(runtime.NumCPU(), max(len(cands), 1)) {
		wg.Go(func() {
			for i := range jobs {
				r := result{i: i}
				if r.err = ctx.Err(); r.err == nil {
					r.in, r.size, r.err = readCandidate(cands[i].path)
				}
				results <- r
			}
		})
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	if progress != nil {
		progress(0, len(cands))
	}
	found := make([]*result, len(cands))
	done := 0
	for r := range results {
		found[r.i] = &r
		done++
		if progress != nil {
			progress(done, len(cands))
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	var members []member
	for i, r := range found {
		c := cands[i]
		if r.err != nil {
			scan.Problems = append(scan.Problems, &FileError{Path: c.path, Err: r.err})
			continue
		}
		if r.in.isDICOMDIR() {
			scan.Skipped = append(scan.Skipped, c.path)
			continue
		}
		if err := r.in.checkUIDs(); err != nil {
			scan.Problems = append(scan.Problems, &FileError{Path: c.path, Err: err})
			continue
		}
		members = append(members, member{candidate: c, size: r.size, in: r.in})
	}
	return members, nil
}

// readCandidate reads the header of one file, and its size.
func readCandidate(name string) (*instance, int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, unwrapPath(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, unwrapPath(err)
	}
	in, err := readInstance(f, fi.Size())
	return in, fi.Size(), err
}

// checkUIDs checks the UIDs that place an instance in its study.
func (in *instance) checkUIDs() error {
	for _, u := range []struct{ name, v string }{
		{"Study Instance UID (0020,000D)", in.studyUID},
		{"SOP Instance UID (0008,0018)", in.sopUID},
	} {
		if u.v == "" {
			return fmt.Errorf("%w: no %s", ErrMissingUID, u.name)
		}
	}
	for _, u := range []struct{ name, v string }{
		{"Study Instance UID", in.studyUID},
		{"Series Instance UID", in.seriesUID},
		{"SOP Instance UID", in.sopUID},
	} {
		if u.v != "" && !validUID(u.v) {
			return fmt.Errorf("%w: %s %q is not digits and dots, at most 64", ErrInvalidUID, u.name, u.v)
		}
	}
	return nil
}

// validUID reports whether s is a UID: components of digits, joined by dots,
// at most 64 characters. Leading zeros, which PS3.5 forbids, are accepted:
// some scanners write them and PACS take them.
func validUID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for c := range strings.SplitSeq(s, ".") {
		if c == "" || strings.Trim(c, "0123456789") != "" {
			return false
		}
	}
	return true
}

// newStudy builds the study of ms, which share a Study Instance UID. Files of
// another patient than most of the study's, and second copies of an
// instance, become problems in scan.
func newStudy(ms []member, scan *Scan) *Study {
	slices.SortFunc(ms, func(a, b member) int {
		return cmp.Or(
			cmp.Compare(a.in.seriesNumber, b.in.seriesNumber),
			cmp.Compare(a.in.seriesUID, b.in.seriesUID),
			cmp.Compare(a.in.instanceNumber, b.in.instanceNumber),
			cmp.Compare(a.rel, b.rel))
	})
	// The study's patient is the one most of its files name; on a tie, the
	// first file's.
	count := map[string]int{}
	patient := ms[0].in
	for _, m := range ms {
		k := m.in.patientKey()
		count[k]++
		if count[k] > count[patient.patientKey()] {
			patient = m.in
		}
	}

	st := &Study{}
	s := &st.Summary
	s.PatientName, s.PatientID, s.IssuerOfPatientID = patient.patientName, patient.patientID, patient.issuer
	s.BirthDate, s.Sex = patient.birthDate, patient.sex
	s.StudyUID = patient.studyUID
	sopSeen := map[string]string{}
	series := map[string]int{} // UID to index in s.Series
	modalities := map[string]bool{}
	for _, m := range ms {
		in := m.in
		if in.patientKey() != patient.patientKey() {
			scan.Problems = append(scan.Problems, &FileError{Path: m.path, Err: fmt.Errorf(
				"%w: %s, ID %s, born %s, in study %s of %s, ID %s, born %s",
				ErrOtherPatient, FormatName(in.patientName), orDash(in.patientID), FormatDate(in.birthDate),
				orDash(s.StudyUID), FormatName(s.PatientName), orDash(s.PatientID), FormatDate(s.BirthDate))})
			continue
		}
		if first, dup := sopSeen[in.sopUID]; dup {
			scan.Problems = append(scan.Problems, &FileError{Path: m.path, Err: fmt.Errorf("%w %s, also in %s", ErrDuplicate, in.sopUID, first)})
			continue
		}
		sopSeen[in.sopUID] = m.path

		fill(&s.StudyDate, in.studyDate)
		fill(&s.StudyTime, in.studyTime)
		fill(&s.Description, in.studyDesc)
		fill(&s.Accession, in.accession)
		fill(&s.Institution, in.institution)
		i, ok := series[in.seriesUID]
		if !ok {
			i = len(s.Series)
			series[in.seriesUID] = i
			s.Series = append(s.Series, Series{UID: in.seriesUID, Number: in.seriesNumber})
		}
		se := &s.Series[i]
		fill(&se.Modality, in.modality)
		fill(&se.Description, in.seriesDesc)
		se.Images++
		se.Bytes += m.size
		if in.modality != "" {
			modalities[in.modality] = true
		}
		s.Files++
		s.Bytes += m.size
		st.Files = append(st.Files, File{
			Path:              m.path,
			Rel:               m.rel,
			Size:              m.size,
			Kind:              KindDICOM,
			StudyUID:          in.studyUID,
			SeriesUID:         in.seriesUID,
			SOPInstanceUID:    in.sopUID,
			SOPClassUID:       in.sopClassUID,
			TransferSyntaxUID: in.tsUID,
			Modality:          in.modality,
		})
	}
	// The files came sorted by series number and UID, so the series did too.
	s.Modalities = slices.Sorted(maps.Keys(modalities))
	if s.Modalities == nil {
		s.Modalities = []string{}
	}
	return st
}

// patientKey is the patient of an instance, compared as for a study.
func (in *instance) patientKey() string {
	return patientKey(Summary{PatientName: in.patientName, PatientID: in.patientID, IssuerOfPatientID: in.issuer, BirthDate: in.birthDate})
}

// fill sets *dst to v if *dst is empty.
func fill(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}
