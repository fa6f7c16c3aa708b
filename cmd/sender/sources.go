package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"imageshare/console"
	"imageshare/send"
)

// sources are the paths to scan: the paths named, a zip replaced by the
// folder it is extracted to in the send's staging folder (package send
// says where), or the folder a study from the PACS is retrieved to.
type sources struct {
	paths   []string
	staging *send.Staging
}

// stageSources extracts the zips among o.paths, or retrieves the study
// from the PACS, into a staging folder of the spool o.spool. The caller
// removes it with cleanup, whatever happens.
func stageSources(ctx context.Context, o *sendOptions, stderr io.Writer, showProgress bool) (*sources, error) {
	s := &sources{staging: send.NewStaging(o.spool)}
	for _, err := range s.staging.RemoveStale() {
		fmt.Fprintf(stderr, "sender: warning: %v\n", err)
	}
	if o.pacs.url != "" {
		dir, err := o.pacs.retrieve(ctx, o, s.staging, stderr, showProgress)
		s.paths = []string{dir}
		return s, err
	}
	var bar *console.Progress
	var unzipping string
	paths, err := s.staging.Stage(ctx, o.paths, func(zip string, done, total int64) {
		if zip != unzipping {
			bar.Finish()
			bar, unzipping = console.NewProgress(stderr, total, "unzipping", showProgress), zip
		}
		bar.Set(done)
	})
	bar.Finish()
	var nf *send.NoSuchPathError
	if errors.As(err, &nf) {
		return s, &usageError{nf.Error()}
	}
	s.paths = paths
	return s, err
}

// cleanup removes the staging folder. It may be called more than once.
func (s *sources) cleanup(stderr io.Writer) {
	if s == nil {
		return
	}
	if err := s.staging.Cleanup(); err != nil {
		fmt.Fprintf(stderr, "sender: warning: %v\n", err)
	}
}
