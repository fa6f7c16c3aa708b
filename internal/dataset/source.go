package dataset

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// FileSource reads the bytes of a file up to Size by offsets: skipping
// costs nothing.
type FileSource struct {
	R    io.ReaderAt
	Off  int64 // where the next read starts
	Size int64
}

var _ Source = (*FileSource)(nil)

// Offset returns where the next read starts.
func (c *FileSource) Offset() int64 { return c.Off }

// Limit returns the size of the file.
func (c *FileSource) Limit() int64 { return c.Size }

// Peek returns the next n bytes, fewer at the end of the file.
func (c *FileSource) Peek(n int) ([]byte, error) {
	b := make([]byte, max(0, min(int64(n), c.Size-c.Off)))
	k, err := c.R.ReadAt(b, c.Off)
	if k < len(b) && err != nil && err != io.EOF {
		return b[:k], err
	}
	return b[:k], nil
}

// Skip moves n bytes on.
func (c *FileSource) Skip(n int64) error {
	if c.Off+n > c.Size {
		c.Off = c.Size
		return io.ErrUnexpectedEOF
	}
	c.Off += n
	return nil
}

// More reports whether any byte is left.
func (c *FileSource) More() (bool, error) { return c.Off < c.Size, nil }

// ZeroToEnd reports whether only zeros are left.
func (c *FileSource) ZeroToEnd() bool {
	buf := make([]byte, 32<<10)
	for off := c.Off; off < c.Size; {
		n, err := c.R.ReadAt(buf[:min(int64(len(buf)), c.Size-off)], off)
		if n == 0 && err != nil {
			return false
		}
		for _, b := range buf[:n] {
			if b != 0 {
				return false
			}
		}
		off += int64(n)
	}
	return true
}

// Where describes an offset of the file: "at byte 132".
func (c *FileSource) Where(off int64) string { return fmt.Sprintf("at byte %d", off) }

// StreamSource reads an inflated data set, forward only; offsets count
// from its start.
type StreamSource struct {
	R   *bufio.Reader
	Off int64
	// Truncated is what the error of a deflated stream that stops before
	// its last block wraps.
	Truncated error
}

var _ Source = (*StreamSource)(nil)

// Offset returns how many bytes have been read.
func (c *StreamSource) Offset() int64 { return c.Off }

// Limit is -1: the end is known when it comes.
func (c *StreamSource) Limit() int64 { return -1 }

// Peek returns the next n bytes, fewer at the end of the data.
func (c *StreamSource) Peek(n int) ([]byte, error) {
	b, err := c.R.Peek(n)
	if err != nil && err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) {
		return b, err
	}
	return b, nil
}

// Skip reads n bytes and drops them.
func (c *StreamSource) Skip(n int64) error {
	k, err := io.CopyN(io.Discard, c.R, n)
	c.Off += k
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// More reports whether any byte is left.
func (c *StreamSource) More() (bool, error) {
	_, err := c.R.Peek(1)
	switch {
	case err == nil:
		return true, nil
	case err == io.EOF:
		return false, nil
	case errors.Is(err, io.ErrUnexpectedEOF):
		return false, fmt.Errorf("%w: the deflated data set ends early", c.Truncated)
	}
	return false, err
}

// ZeroToEnd reads the rest and reports whether it is only zeros.
func (c *StreamSource) ZeroToEnd() bool {
	buf := make([]byte, 32<<10)
	for {
		n, err := c.R.Read(buf)
		for _, b := range buf[:n] {
			if b != 0 {
				return false
			}
		}
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
	}
}

// Where describes an offset of the inflated data set.
func (c *StreamSource) Where(off int64) string {
	return fmt.Sprintf("at byte %d of the inflated data set", off)
}
