package transfer

import (
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"sync"

	"lukechampine.com/blake3"

	"imageshare/internal/atomicfile"
	"imageshare/internal/filelock"
	"imageshare/study"
)

// stagingDir is the folder, inside the study folder, that holds files still
// being received. Nothing in it has been verified.
const stagingDir = ".imageshare"

// IncomingDir is the folder, under the folder a study is fetched into,
// where a study is built until it is verified: Commit then moves it up
// beside the studies before it. A program watching that folder (a PACS
// import) sees only whole studies.
const IncomingDir = ".incoming"

// lockName is the file, in a study folder, that a receiver fetching into
// it holds locked.
var lockName = path.Join(stagingDir, "lock")

// ErrFolderBusy: another receiver is fetching the same study into the same
// folder now.
var ErrFolderBusy = errors.New("another receiver is already fetching this study")

// FileError reports a received file that failed verification, or could not
// be written.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("%s: %v", e.Path, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

// Store writes an offer's files into a study folder as chunks arrive. A file
// is written under a temporary name in the staging folder, and renamed to
// its own name only once its BLAKE3 hash matches the manifest: a name in the
// study folder always holds a whole, verified file. Writes cannot leave the
// folder, whatever names the manifest holds.
type Store struct {
	dir    string
	root   *os.Root // nil once committed
	lock   *os.File // held locked until Close
	m      *Manifest
	layout *layout

	mu        sync.Mutex
	remaining []int64
	verified  int
	done      []bool // chunks written
	placed    []bool // files verified and under their names
	// Each file's BLAKE3 hash is taken as its bytes are written, front to
	// back; a file written out of order is read again to be hashed.
	// hashMu guards hashers and hashed.
	hashMu  sync.Mutex
	hashers []hash.Hash
	hashed  []int64
	// Files being written stay open between chunks.
	open map[int]*os.File
	// Completed files are synced and renamed in the background, a few at
	// a time, so that fsync does not hold up the next chunk.
	placing  sync.WaitGroup
	slots    chan struct{}
	placeErr error
	// OnFile, if set, is called after each file is verified and in place.
	OnFile func(f File)
	// Once Finish succeeds: the folder's marker, and that it is done.
	marker   []byte
	finished bool
}

// OpenStore prepares dir, which is created if needed, to receive m. m must
// have been validated. It fails with ErrFolderBusy while another Store, in this
// process or another, has dir open.
//
// On Windows, the os.Root that confines the writes cleans each name with
// GetFullPathName and refuses device names and ":" as escaping the folder
// (rootCleanPath in GOROOT/src/os/root_windows.go), then opens it relative
// to the folder's handle, where MAX_PATH does not apply. The names of a
// valid manifest never meet that cleaning: study.CheckName refuses device
// names, ":", "\" and trailing dots and spaces, which Win32 would strip.
func OpenStore(dir string, m *Manifest) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: creating the study folder: %w", ErrDisk, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: opening the study folder: %w", ErrDisk, err)
	}
	if err := root.MkdirAll(path.Join(stagingDir, "partial"), 0o700); err != nil {
		root.Close()
		return nil, fmt.Errorf("%w: creating %s: %w", ErrDisk, path.Join(dir, stagingDir), err)
	}
	lock, err := lockFolder(root)
	if err != nil {
		root.Close()
		if !errors.Is(err, ErrFolderBusy) {
			err = fmt.Errorf("%w: locking %s: %w", ErrDisk, dir, err)
		}
		return nil, err
	}
	s := &Store{dir: dir, root: root, lock: lock, m: m, layout: newLayout(m), remaining: make([]int64, len(m.Files)),
		done: make([]bool, len(m.Chunks)), placed: make([]bool, len(m.Files)),
		hashers: make([]hash.Hash, len(m.Files)), hashed: make([]int64, len(m.Files)),
		slots: make(chan struct{}, 4), open: map[int]*os.File{}}
	for i, f := range m.Files {
		s.remaining[i] = f.Size
	}
	return s, nil
}

// lockFolder opens the study folder's lock file and locks it, or fails
// with ErrFolderBusy. The file stays when unlocked: removing it would let a
// third receiver lock a new file while a second holds the old one.
func lockFolder(root *os.Root) (*os.File, error) {
	f, err := root.OpenFile(lockName, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if !filelock.Supported {
		return nil, f.Close()
	}
	held, err := filelock.TryLock(f)
	if err == nil && held {
		err = ErrFolderBusy
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Dir is the study folder: in IncomingDir until Commit.
func (s *Store) Dir() string { return s.dir }

// Verified is how many files are verified and under their names.
func (s *Store) Verified() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.verified
}

// Close releases the folder, once the files being placed are placed.
// Files not yet verified stay in the staging folder.
func (s *Store) Close() error {
	s.placing.Wait()
	s.mu.Lock()
	for i, fh := range s.open {
		fh.Close()
		delete(s.open, i)
	}
	s.mu.Unlock()
	return s.release()
}

// release closes the folder and unlocks it.
func (s *Store) release() error {
	var err error
	if s.root != nil {
		err = s.root.Close()
		s.root = nil
	}
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
	return err
}

func partialName(i int) string { return path.Join(stagingDir, "partial", strconv.Itoa(i)) }

// Put writes a verified chunk's plaintext into the files it covers, and
// moves every file it completes into place. It is safe to call from several
// goroutines, for different chunks.
func (s *Store) Put(index int, plain []byte) error {
	s.mu.Lock()
	err := s.placeErr
	s.mu.Unlock()
	if err != nil {
		return err
	}
	start := int64(index) * s.m.ChunkSize
	end := start + int64(len(plain))
	type piece struct {
		file int
		b    []byte
		off  int64 // in the file
	}
	var pieces []piece
	// Empty files cover no extent; Finish places them.
	for e := range s.layout.extents(start, end) {
		s.mu.Lock()
		skip := s.placed[e.File]
		s.mu.Unlock()
		if skip {
			continue
		}
		pieces = append(pieces, piece{e.File, plain[e.At : e.At+e.Len], e.Off})
	}
	// The pieces are written while the files' hashes are taken (the
	// hashing, whose stack is the larger, stays on this goroutine).
	written := make(chan error, 1)
	go func() {
		for _, p := range pieces {
			if err := s.writeAt(p.file, p.b, p.off); err != nil {
				written <- err
				return
			}
		}
		written <- nil
	}()
	for _, p := range pieces {
		// The lock is held for the bookkeeping only: a file's next
		// bytes are in one piece, so only one goroutine hashes into
		// a file's hasher at a time.
		s.hashMu.Lock()
		next := s.hashed[p.file] == p.off
		if !next {
			s.hashed[p.file] = -1 // out of order: hashed by reading it back
		} else if s.hashers[p.file] == nil {
			s.hashers[p.file] = blake3.New(32, nil)
		}
		h := s.hashers[p.file]
		s.hashMu.Unlock()
		if !next {
			continue
		}
		h.Write(p.b)
		s.hashMu.Lock()
		if s.hashed[p.file] == p.off {
			s.hashed[p.file] += int64(len(p.b))
		}
		s.hashMu.Unlock()
	}
	if err := <-written; err != nil {
		return err
	}
	for _, p := range pieces {
		s.mu.Lock()
		s.remaining[p.file] -= int64(len(p.b))
		complete := s.remaining[p.file] == 0
		s.mu.Unlock()
		if complete {
			s.completeLater(p.file)
		}
	}
	s.mu.Lock()
	s.done[index] = true
	s.mu.Unlock()
	return nil
}

// Placed reports, for each file, whether it is verified and in place.
func (s *Store) Placed() []bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]bool(nil), s.placed...)
}

// Need lists the chunks not yet written, in order.
func (s *Store) Need() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var need []int
	for i, d := range s.done {
		if !d {
			need = append(need, i)
		}
	}
	return need
}

// Resume finds what an earlier, interrupted fetch into the same folder
// already wrote: every chunk whose bytes are on disk, in files under their
// names or in the staging folder, and match the chunk's BLAKE3 hash counts as
// received. It returns the plaintext bytes reused. Nothing is trusted that
// does not hash right.
func (s *Store) Resume() (int64, error) {
	// Files under their own names were verified before they were renamed;
	// check them again, as anyone may have touched them since.
	for i, f := range s.m.Files {
		if f.Size == 0 {
			continue
		}
		if ok, err := s.hashMatches(f.Path, f); err != nil {
			return 0, err
		} else if ok {
			s.placed[i] = true
			s.verified++
		}
	}
	var reused int64
	buf := make([]byte, s.m.ChunkSize)
	for ci, c := range s.m.Chunks {
		start, end := s.layout.chunk(ci)
		b := buf[:c.Size]
		if !s.readChunk(start, b) {
			continue
		}
		if Hash(blake3.Sum256(b)) != c.BLAKE3 {
			continue
		}
		s.done[ci] = true
		reused += c.Size
		for e := range s.layout.extents(start, end) {
			if !s.placed[e.File] {
				s.remaining[e.File] -= e.Len
			}
		}
	}
	for i, f := range s.m.Files {
		if !s.placed[i] && f.Size > 0 && s.remaining[i] == 0 {
			if err := s.complete(i); err != nil {
				return 0, err
			}
		}
	}
	return reused, nil
}

// readChunk fills b with the stream's bytes from start, from the files
// under their names or in staging; false when any are missing.
func (s *Store) readChunk(start int64, b []byte) bool {
	for e := range s.layout.extents(start, start+int64(len(b))) {
		name := partialName(e.File)
		if s.placed[e.File] {
			name = s.m.Files[e.File].Path
		}
		fh, err := s.root.Open(name)
		if err != nil {
			return false
		}
		_, err = fh.ReadAt(b[e.At:e.At+e.Len], e.Off)
		fh.Close()
		if err != nil {
			return false
		}
	}
	return true
}

// hashMatches reports whether the file name holds exactly f's bytes.
func (s *Store) hashMatches(name string, f File) (bool, error) {
	fh, err := s.root.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, s.diskError(err)
	}
	defer fh.Close()
	h := blake3.New(32, nil)
	n, err := io.Copy(h, fh)
	if err != nil {
		return false, s.diskError(err)
	}
	return n == f.Size && Hash(h.Sum(nil)) == f.BLAKE3, nil
}

func (s *Store) writeAt(i int, b []byte, off int64) error {
	s.mu.Lock()
	fh := s.open[i]
	s.mu.Unlock()
	if fh == nil {
		var err error
		fh, err = s.root.OpenFile(partialName(i), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return s.diskError(err)
		}
		s.mu.Lock()
		if other := s.open[i]; other != nil {
			fh.Close()
			fh = other
		} else {
			s.open[i] = fh
		}
		s.mu.Unlock()
	}
	if _, err := fh.WriteAt(b, off); err != nil {
		return s.diskError(err)
	}
	return nil
}

// ErrDisk is wrapped by errors writing the study to disk: a full disk, a
// folder that is not writable. What was verified stays; a run of the same
// command once the problem is fixed resumes.
var ErrDisk = errors.New("cannot write the study")

func (s *Store) diskError(err error) error {
	return fmt.Errorf("%w into %s: %w", ErrDisk, s.dir, err)
}

// Manifest is the manifest the store receives.
func (s *Store) Manifest() *Manifest { return s.m }

// complete checks file i against the manifest and renames it into place.
func (s *Store) complete(i int) error {
	f := s.m.Files[i]
	name := partialName(i)
	s.hashMu.Lock()
	h, n := s.hashers[i], s.hashed[i]
	s.hashers[i] = nil
	s.hashMu.Unlock()
	s.mu.Lock()
	fh := s.open[i]
	delete(s.open, i)
	s.mu.Unlock()
	var err error
	if fh == nil {
		fh, err = s.root.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return s.diskError(err)
		}
	}
	if h == nil || n != f.Size {
		// Not hashed as written (resumed, or written out of order).
		h = blake3.New(32, nil)
		n, err = io.Copy(h, fh)
	}
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return s.diskError(err)
	}
	if n != f.Size || Hash(h.Sum(nil)) != f.BLAKE3 {
		s.root.Remove(name)
		return &FileError{Path: f.Path, Err: fmt.Errorf("%w: BLAKE3 hash differs", ErrCorrupt)}
	}
	if d := path.Dir(f.Path); d != "." {
		if err := s.root.MkdirAll(d, 0o755); err != nil {
			return s.diskError(err)
		}
	}
	if err := s.root.Chmod(name, placedMode()); err != nil {
		return s.diskError(err)
	}
	// On Windows, a file another process has open (an antivirus scanning
	// the staging file just closed) cannot be renamed for a moment.
	if err := atomicfile.RetryRename(func() error { return s.root.Rename(name, f.Path) }); err != nil {
		return s.diskError(err)
	}
	s.mu.Lock()
	s.verified++
	s.placed[i] = true
	s.mu.Unlock()
	if s.OnFile != nil {
		s.OnFile(f)
	}
	return nil
}

// completeLater runs complete in the background; Finish waits for it.
func (s *Store) completeLater(i int) {
	s.slots <- struct{}{}
	s.placing.Add(1)
	go func() {
		defer s.placing.Done()
		defer func() { <-s.slots }()
		if err := s.complete(i); err != nil {
			s.mu.Lock()
			if s.placeErr == nil {
				s.placeErr = err
			}
			s.mu.Unlock()
		}
	}()
}

// ErrIncomplete is returned by Finish when files are missing.
var ErrIncomplete = errors.New("not every file was received")

// Finish places the empty files, checks that every file is verified and in
// place, and removes the staging files (the folder's marker, written by
// ClaimFolder, stays). Then it releases the folder: nothing more is
// written into it, and it can be moved, by Commit or, if what arrived is
// refused, receive.Quarantine. Windows cannot rename a folder while a
// handle to it, or to a file in it such as the lock, is open ("the folder
// or a file in it is open in another program").
func (s *Store) Finish() error {
	if s.finished {
		return nil
	}
	s.placing.Wait()
	if s.placeErr != nil {
		return s.placeErr
	}
	for i, f := range s.m.Files {
		if f.Size == 0 && !s.placed[i] {
			if err := s.complete(i); err != nil {
				return err
			}
		}
	}
	s.mu.Lock()
	verified := s.verified
	s.mu.Unlock()
	if verified != len(s.m.Files) {
		return fmt.Errorf("%w: %d of %d verified", ErrIncomplete, verified, len(s.m.Files))
	}
	// The staging files go; the folder's marker stays, and so does the
	// staging folder if it holds it.
	if err := s.root.RemoveAll(path.Join(stagingDir, "partial")); err != nil {
		return s.diskError(err)
	}
	if d, err := os.Open(s.dir); err == nil {
		d.Sync()
		d.Close()
	}
	s.marker, _ = readRootMarker(s.root)
	s.finished = true
	return s.release()
}

// Commit moves a study that Finish found whole (and released) out of
// IncomingDir, to beside the studies before it, and returns the folder it
// is now in. A study folder that was not in IncomingDir (one fetched again
// after it was complete) stays where it is.
//
// If a file or folder is in the way (made there since ClaimFolder chose
// the name), Commit refuses, on every system alike, and the study stays
// in IncomingDir: renamed onto an empty folder, a folder would replace it
// on Linux and macOS but not on Windows. If another receiver of the same
// card moved the study first, Commit returns where it is.
func (s *Store) Commit() (string, error) {
	final := finalFolder(s.dir)
	if final == s.dir {
		return s.dir, nil
	}
	marker := s.marker
	// movedThere reports whether another receiver of this card moved the
	// study to final (the marker is the card's hash of the manifest).
	movedThere := func() bool {
		if _, err := os.Lstat(s.dir); !errors.Is(err, fs.ErrNotExist) || marker == nil {
			return false
		}
		b, err := readMarker(final)
		return err == nil && string(b) == string(marker)
	}
	inTheWay := func() error {
		if _, err := os.Lstat(final); err != nil {
			return nil
		}
		return fmt.Errorf("%w: %s is in the way of the study in %s: move it away, and run the same command again to move the study there",
			ErrDisk, final, s.dir)
	}
	moved := movedThere()
	if !moved {
		if err := inTheWay(); err != nil {
			return "", err
		}
	}
	// Finish released the folder, as Windows cannot move it otherwise:
	// a receiver of the same card that opens it meanwhile finds it whole,
	// and the first to move it wins (movedThere).
	s.release()
	if !moved {
		err := atomicfile.RetryRename(func() error {
			err := os.Rename(s.dir, final)
			if err != nil {
				// Not tried again: Windows refuses a rename onto a
				// folder as access denied, as it does one that an open
				// file blocks.
				if ierr := inTheWay(); ierr != nil {
					return ierr
				}
			}
			return err
		})
		if err != nil && !movedThere() {
			if errors.Is(err, ErrDisk) {
				return "", err
			}
			return "", s.diskError(err)
		}
	}
	os.Remove(filepath.Dir(s.dir)) // IncomingDir, once it holds no other study
	s.dir = final
	if d, err := os.Open(filepath.Dir(final)); err == nil {
		d.Sync()
		d.Close()
	}
	return final, nil
}

// finalFolder is where the study folder dir goes once whole: out of
// IncomingDir if it is in one, else dir itself.
func finalFolder(dir string) string {
	up := filepath.Dir(dir)
	if filepath.Base(up) != IncomingDir {
		return dir
	}
	return filepath.Join(filepath.Dir(up), filepath.Base(dir))
}

// markerName is the file, in a study folder, that names the offer whose
// files the folder holds: the card's hash of its sealed manifest. It lives
// beside the receiver's record of the study, and outlasts Finish.
var markerName = path.Join(stagingDir, "manifest-hash")

// ClaimFolder returns the study folder, under parent, for the offer whose
// sealed manifest has hash (the card's ManifestHash). A name is taken if
// neither parent/name nor parent/IncomingDir/name exists, or the one that
// does has a marker holding hash; otherwise the first of name-2, name-3, …
// that is. A study not yet whole is built in parent/IncomingDir/name, made
// with its marker, and Store.Commit moves it to parent/name; a study
// complete already is returned where it is. A folder's name comes from the
// card, whose offer ID is no secret, so a forged card could otherwise
// resume into an earlier study's folder and rename its own files over that
// study's verified ones; the same manifest hash means the same sealed
// manifest, which only the card's secret opens.
func ClaimFolder(parent, name string, hash [ManifestHashSize]byte) (string, error) {
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("%w: %w", ErrDisk, err)
	}
	return folderFor(parent, name, hash, true)
}

// FindFolder returns the folder ClaimFolder would claim, without making
// it, and whether it exists (holding this manifest's files) already.
func FindFolder(parent, name string, hash [ManifestHashSize]byte) (string, bool, error) {
	dir, err := folderFor(parent, name, hash, false)
	if err != nil {
		return "", false, err
	}
	_, err = os.Lstat(dir)
	return dir, err == nil, nil
}

func folderFor(parent, name string, hash [ManifestHashSize]byte, create bool) (string, error) {
	want := hex.EncodeToString(hash[:]) + "\n"
	for i := 1; i <= 100; i++ {
		base := name
		if i > 1 {
			base = fmt.Sprintf("%s-%d", name, i)
		}
		final := filepath.Join(parent, base)
		incoming := filepath.Join(parent, IncomingDir, base)
		taken := false
		for _, dir := range []string{final, incoming} {
			_, err := os.Lstat(dir)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return "", fmt.Errorf("%w: %w", ErrDisk, err)
			}
			if b, err := readMarker(dir); err == nil && string(b) == want {
				return dir, nil
			}
			taken = true // another offer's, or nobody's
			break
		}
		if taken {
			continue
		}
		if !create {
			return incoming, nil
		}
		won, err := claimNew(incoming, want)
		if err != nil {
			return "", fmt.Errorf("%w: creating the study folder: %w", ErrDisk, err)
		}
		if won {
			return incoming, nil
		}
		// Another receiver made it first: it is ours too if its marker is.
		if b, err := readMarker(incoming); err == nil && string(b) == want {
			return incoming, nil
		}
	}
	return "", fmt.Errorf("%w: %s and 99 more folders of that name hold other studies", ErrDisk, filepath.Join(parent, name))
}

// claimNew makes dir with its marker, at once: the folder is made and
// marked under a temporary name and renamed to dir, so that another
// receiver never sees dir without its marker. It reports false if dir
// exists already.
func claimNew(dir, marker string) (bool, error) {
	var tmp string
	var err error
	// A Commit of another study removes IncomingDir once it is empty: made
	// again, it is tried once more.
	for range 2 {
		if err = os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return false, err
		}
		if tmp, err = os.MkdirTemp(filepath.Dir(dir), ".claim-"); !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err != nil {
		return false, err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return false, err
	}
	if err := writeMarker(tmp, marker); err != nil {
		os.RemoveAll(tmp)
		return false, err
	}
	err = atomicfile.RetryRename(func() error {
		err := os.Rename(tmp, dir)
		if err != nil {
			// Another receiver made it: no use trying again (on Windows
			// a move onto a folder is refused as access denied).
			if _, serr := os.Lstat(dir); serr == nil {
				return fs.ErrExist
			}
		}
		return err
	})
	if err == nil {
		return true, nil
	}
	os.RemoveAll(tmp)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	return false, err
}

// StillNeeded returns about how many bytes a fetch of m into dir has yet
// to write: the files' sizes, less those of the files already under their
// names at their size, and of what the staging folder holds of the rest.
// A dir that does not exist needs all. Nothing is hashed: it is a check of
// free space, not of content.
func StillNeeded(dir string, m *Manifest) int64 {
	need := m.TotalSize()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return need
	}
	defer root.Close()
	for i, f := range m.Files {
		if fi, err := root.Lstat(f.Path); err == nil && fi.Mode().IsRegular() && fi.Size() == f.Size {
			need -= f.Size
		} else if fi, err := root.Lstat(partialName(i)); err == nil && fi.Mode().IsRegular() {
			need -= min(fi.Size(), f.Size)
		}
	}
	return need
}

// SpaceError says that a study does not fit on the disk that would hold
// it. It wraps ErrDisk.
type SpaceError struct {
	Dir  string // the folder the study would go into
	Need int64  // bytes still to write
	Free uint64 // bytes free on the disk
}

func (e *SpaceError) Error() string {
	return fmt.Sprintf("%v: the study needs %s and the disk that holds %s has %s free",
		ErrDisk, study.FormatBytes(e.Need), e.Dir, study.FormatBytes(int64(min(e.Free, 1<<62))))
}

func (e *SpaceError) Unwrap() error { return ErrDisk }

// readMarker reads dir's marker, inside dir only.
func readMarker(dir string) ([]byte, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return readRootMarker(root)
}

// readRootMarker reads the marker of the study folder root.
func readRootMarker(root *os.Root) ([]byte, error) {
	f, err := root.Open(markerName)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 256))
}

func writeMarker(dir, text string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := root.MkdirAll(stagingDir, 0o700); err != nil {
		return err
	}
	f, err := root.OpenFile(markerName, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
