package study

import "io"

// ReadHeader reads the header of the size bytes of r as ScanPaths reads a
// file's, for the tests of package study_test.
func ReadHeader(r io.ReaderAt, size int64) error {
	_, err := readInstance(r, size)
	return err
}
