package study

import (
	"archive/zip"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// DefaultMaxUnzip is the most a zip may hold when UnzipOptions.MaxBytes is
// 0: a zip that declares more is refused before anything is written.
const DefaultMaxUnzip = 64 << 30

// ZipError is a zip that is not extracted: it is not a zip, or it declares
// more than may be extracted, or one of its entries is unsafe (a name that
// leaves the folder, a symbolic link), encrypted, compressed in a way this
// program cannot read, or damaged.
type ZipError struct {
	Zip   string // the zip file
	Entry string // the entry at fault, as the zip names it; "" when the fault is not one entry's
	Err   error  // for an entry, a phrase that follows "zip entry NAME"
}

var _ error = (*ZipError)(nil)

func (e *ZipError) Error() string {
	if e.Entry == "" {
		return fmt.Sprintf("%s: %v", e.Zip, e.Err)
	}
	return fmt.Sprintf("%s: zip entry %s %v", e.Zip, quoted(e.Entry), e.Err)
}

func (e *ZipError) Unwrap() error { return e.Err }

// UnzipOptions configures Unzip.
type UnzipOptions struct {
	// MaxBytes caps the bytes the zip may declare (DefaultMaxUnzip if 0).
	MaxBytes int64
	// Progress, if not nil, is called with the bytes written so far and
	// the total the zip declares, from the goroutine that called Unzip.
	Progress func(done, total int64)
}

// Unzip extracts the zip file name into the folder dir, files readable by
// their owner only (0600, folders 0700). Before it writes anything, it
// checks every entry: a name that CheckName refuses (one that leaves dir,
// is absolute or holds a backslash), a symbolic link or other special file,
// encryption, a compression method other than store and deflate, and the
// total the zip declares against MaxBytes and, where it can tell, the free
// space of dir's disk. It then reads each entry to its end, so that its
// CRC is checked, and never writes more than the entry declares.
// Folders are made as the files need them; entries that are folders only
// are not. Problems with the zip are *ZipErrors; others are for dir.
func Unzip(ctx context.Context, name, dir string, opts UnzipOptions) error {
	zr, err := zip.OpenReader(name)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // names are checked below
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Op == "open" {
			return err // the error names the zip
		}
		return &ZipError{Zip: name, Err: fmt.Errorf("not a zip file, or a damaged one: %w", err)}
	}
	defer zr.Close()
	limit := opts.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxUnzip
	}

	// Every entry, before anything is written.
	var files []*zip.File
	var total uint64
	for _, f := range zr.File {
		bad := func(format string, args ...any) error {
			return &ZipError{Zip: name, Entry: f.Name, Err: fmt.Errorf(format, args...)}
		}
		folder := strings.HasSuffix(f.Name, "/") || f.Mode().IsDir()
		if err := CheckName(strings.TrimSuffix(f.Name, "/")); err != nil {
			return bad("cannot be extracted: %w", err)
		}
		switch {
		case f.Flags&0x1 != 0:
			return bad("is encrypted: unzip it first")
		case f.Mode()&fs.ModeSymlink != 0:
			return bad("is a symbolic link: unzip it first")
		case folder:
			continue
		case !f.Mode().IsRegular():
			return bad("is not a regular file (mode %v)", f.Mode())
		case f.Method != zip.Store && f.Method != zip.Deflate:
			return bad("is compressed with method %d, which this program cannot read: unzip it first", f.Method)
		}
		if total += f.UncompressedSize64; total > uint64(limit) || total < f.UncompressedSize64 {
			return &ZipError{Zip: name, Err: fmt.Errorf("holds more than %s once unzipped, the most that is extracted: unzip it yourself", FormatBytes(limit))}
		}
		files = append(files, f)
	}
	if free, ok := FreeBytes(dir); ok && total > free {
		return fmt.Errorf("unzipping %s needs %s, and the disk of %s has %s free", name, FormatBytes(int64(total)), dir, FormatBytes(int64(free)))
	}

	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	var done int64
	progress := func(n int64) {
		done += n
		if opts.Progress != nil {
			opts.Progress(done, int64(total))
		}
	}
	progress(0)
	buf := make([]byte, 256<<10)
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := extract(ctx, root, name, f, buf, progress); err != nil {
			return err
		}
	}
	return nil
}

// extract writes the entry f of the zip name under root.
func extract(ctx context.Context, root *os.Root, name string, f *zip.File, buf []byte, progress func(int64)) error {
	bad := func(format string, args ...any) error {
		return &ZipError{Zip: name, Entry: f.Name, Err: fmt.Errorf(format, args...)}
	}
	if parent := path.Dir(f.Name); parent != "." {
		if err := root.MkdirAll(parent, 0o700); err != nil {
			return fmt.Errorf("unzipping %s: %w", name, err)
		}
	}
	out, err := root.OpenFile(f.Name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return bad("is in the zip twice")
	}
	if err != nil {
		return fmt.Errorf("unzipping %s: %w", name, err)
	}
	defer out.Close()
	in, err := f.Open()
	if err != nil {
		return bad("cannot be read: %w", err)
	}
	defer in.Close()

	// archive/zip checks the size and the CRC once the entry is read to
	// its end, and returns no more than the entry declares; the count here
	// does not rely on it.
	declared := int64(f.UncompressedSize64)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		k, rerr := in.Read(buf)
		if n += int64(k); n > declared {
			return bad("holds more than the %d bytes it declares: the zip is damaged or hostile", declared)
		}
		if _, err := out.Write(buf[:k]); err != nil {
			return fmt.Errorf("unzipping %s: %w", name, err)
		}
		progress(int64(k))
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			var corrupt flate.CorruptInputError
			switch {
			case errors.Is(rerr, zip.ErrChecksum):
				return bad("fails its CRC check: the zip is damaged")
			case errors.Is(rerr, zip.ErrFormat):
				// archive/zip stops an entry at the size it declares.
				return bad("holds more than the %d bytes it declares, or is damaged: %w", declared, rerr)
			case errors.Is(rerr, io.ErrUnexpectedEOF):
				return bad("holds less than the %d bytes it declares: the zip is damaged", declared)
			case errors.As(rerr, &corrupt):
				return bad("is damaged: %w", rerr)
			}
			return fmt.Errorf("reading %s: %w", name, rerr)
		}
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("unzipping %s: %w", name, err)
	}
	return nil
}
