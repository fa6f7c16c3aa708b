package main

import (
	"context"
	"errors"
	"io"
	"path/filepath"

	"imageshare/audit"
	"imageshare/study"
)

// runImport stores a study folder that receiver fetch saved into the PACS:
// after a partial import, or to import it under a local record later.
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o := &fetchOptions{}
	fs := newFlags("receiver import", o)
	pos, err := parseCommon(fs, args)
	if err != nil {
		return err
	}
	if err := applyConfig(fs, o); err != nil {
		return err
	}
	if len(pos) != 1 {
		return &usageError{"give one study folder, as receiver fetch printed it"}
	}
	if o.pacs.url == "" {
		return &usageError{"--to-dicomweb URL is required: the PACS to store the study in"}
	}
	if err := o.pacs.check(o.configUsed); err != nil {
		return err
	}
	dir := filepath.Clean(pos[0])
	// Reconciled copies are made beside the folder, in DIR's work area.
	o.out = filepath.Dir(dir)
	js := jsonOut(o, stdout)
	if o.trail, err = audit.OpenTrail("receiver", o.audit, stderr); err != nil {
		return err
	}
	defer o.trail.Close()
	app := audit.Local("receiver", "")
	in, err := folderInput(ctx, dir)
	var mismatch *study.MismatchError
	if errors.As(err, &mismatch) {
		reportMismatch(o, stderr, js, mismatch, app, audit.Participant{}, "")
	}
	if err == nil {
		var res *importResult
		res, err = importToPACS(ctx, o, in, stderr, js, app)
		uids := make([]string, len(in.studies))
		for i, s := range in.studies {
			uids[i] = s.StudyUID
		}
		js.Emit(map[string]any{"type": "summary", "dir": dir, "study_uid": uids[0], "study_uids": uids, "pacs": res})
	}
	if err != nil {
		js.Emit(map[string]any{"type": "error", "exit_code": exitCode(err), "message": err.Error()})
	}
	return err
}
