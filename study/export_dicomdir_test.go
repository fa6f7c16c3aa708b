package study

import (
	"io"
	"strings"
)

// ReadDICOMDIR reads the DICOMDIR in the size bytes of r as ScanPaths
// does, and returns the Referenced File IDs of the records in use, their
// components joined by "/", for the tests of package study_test.
func ReadDICOMDIR(r io.ReaderAt, size int64) ([]string, error) {
	records, err := parseDICOMDIR(r, size)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, rec := range records {
		if rec.fileID != nil && !rec.unused {
			ids = append(ids, strings.Join(rec.fileID, "/"))
		}
	}
	return ids, nil
}
