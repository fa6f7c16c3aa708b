package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"imageshare/audit"
	"imageshare/console"
	"imageshare/dicomweb"
	"imageshare/study"
)

// runImport stores a study folder that receiver fetch saved into the PACS:
// after a partial import, or to import it under a local record later.
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o := &fetchOptions{}
	fs := newFlags("receiver import", o)
	pos, err := parseCommon(fs, args)
	if errors.Is(err, errHelp) {
		fmt.Fprint(stderr, usage)
	}
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &usageError{"give one study folder, as receiver fetch printed it"}
	}
	if o.pacs.url == "" {
		return &usageError{"--to-dicomweb URL is required: the PACS to store the study in"}
	}
	if err := o.pacs.check(); err != nil {
		return err
	}
	dir := filepath.Clean(pos[0])
	// Reconciled copies are made beside the folder, in DIR's work area.
	o.out = filepath.Dir(dir)
	js := jsonOut(o, stdout)
	if o.trail, err = console.OpenTrail("receiver", o.audit, stderr); err != nil {
		return err
	}
	defer o.trail.Close()
	in, err := folderInput(ctx, dir)
	if err == nil {
		app := audit.Local("receiver", "")
		var res *importResult
		res, err = importToPACS(ctx, o, in, stderr, js, app)
		js.Emit(map[string]any{"type": "summary", "dir": dir, "study_uid": in.summary.StudyUID, "pacs": res})
	}
	if err != nil {
		js.Emit(map[string]any{"type": "error", "exit_code": exitCode(err), "message": err.Error()})
	}
	return err
}

// folderInput reads a study folder as receiver fetch saved it: one study's
// DICOM files, and perhaps a report named report-*.
func folderInput(ctx context.Context, dir string) (*importInput, error) {
	scan, err := study.ScanPaths(ctx, []string{dir}, study.ScanOptions{})
	if err != nil {
		return nil, err
	}
	in := &importInput{dir: dir}
	for _, p := range scan.Problems {
		rel, _ := filepath.Rel(dir, p.Path)
		if errors.Is(p.Err, study.ErrNotDICOM) && strings.HasPrefix(filepath.Base(rel), "report-") && in.report == "" {
			in.report = p.Path
			continue
		}
		return nil, fmt.Errorf("%s is not as receiver fetch saved it: %w", dir, p)
	}
	sel, err := study.Select(scan, nil, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if len(sel) != 1 {
		return nil, fmt.Errorf("%s holds %d studies; import them one at a time", dir, len(sel))
	}
	in.summary = sel[0].Summary
	for _, f := range sel[0].Files {
		in.files = append(in.files, importFile{rel: f.Rel, Instance: dicomweb.Instance{Path: f.Path, SOPInstanceUID: f.SOPInstanceUID, SOPClassUID: f.SOPClassUID}})
	}
	return in, nil
}
