package main

import (
	"context"
	"errors"
	"io"
	"path/filepath"

	"imageshare/audit"
	"imageshare/receive"
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
	in, err := receive.FolderInput(ctx, dir)
	var mismatch *study.MismatchError
	if errors.As(err, &mismatch) {
		reportMismatch(o, stderr, js, mismatch, app, audit.Participant{}, "")
	}
	if err == nil {
		var res *importResult
		res, err = importToPACS(ctx, o, in, stderr, js, app)
		uids := make([]string, len(in.Studies))
		for i, s := range in.Studies {
			uids[i] = s.StudyUID
		}
		js.Emit(&importSummaryEvent{Dir: dir, StudyUID: uids[0], StudyUIDs: uids, PACS: res})
	}
	if err != nil {
		js.Emit(&importErrorEvent{ExitCode: exitCode(err), Message: err.Error()})
	}
	return err
}

// importSummaryEvent is the last line of receiver import --json when the
// folder could be read: what the PACS holds (null if nothing was tried).
type importSummaryEvent struct {
	Dir       string                `json:"dir"`
	StudyUID  string                `json:"study_uid"` // the first of StudyUIDs
	StudyUIDs []string              `json:"study_uids"`
	PACS      *receive.ImportResult `json:"pacs"`
}

// importErrorEvent is the last line of receiver import --json when it
// fails: the exit code and the message on stderr.
type importErrorEvent struct {
	ExitCode int    `json:"exit_code"`
	Message  string `json:"message"`
}

// EventType names the event in JSON.
func (*importSummaryEvent) EventType() string { return "summary" }

// EventType names the event in JSON.
func (*importErrorEvent) EventType() string { return "error" }
