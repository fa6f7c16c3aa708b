package receiving

import (
	"errors"
	"path/filepath"

	"imageshare/audit"
	"imageshare/dicomweb"
	"imageshare/receive"
	"imageshare/study"
)

// importStudy stores the verified study in into the PACS, as receiver
// fetch --to-dicomweb does, showing the import's events.
func (rn *run) importStudy(in *receive.ImportInput) {
	cfg := rn.p.cfg
	rn.mu.Lock()
	local := rn.local
	rn.mu.Unlock()
	opts := receive.ImportOptions{URL: cfg.PACS, CredentialsFile: cfg.CredentialsFile, Changes: local.Changes(),
		BatchBytes: cfg.BatchBytes, WorkDir: filepath.Join(cfg.Out, ".imageshare"), HTTPClient: cfg.HTTPClient,
		Trail: cfg.Trail, Station: rn.station()}
	rn.b.update(func(s *State) { s.Import = &Import{URL: receive.RedactedURL(cfg.PACS), Running: true} })
	err := opts.CheckStudies(in.Studies)
	if err == nil {
		_, err = dicomweb.WithCredentials(cfg.PACS, cfg.CredentialsFile)
	}
	if err == nil {
		_, err = receive.Import(rn.ctx, opts, in, rn.importEvent)
	}
	rn.b.update(func(s *State) {
		s.Import.Running = false
		if err != nil {
			s.Import.Error = err.Error()
			s.Note = "The study is verified and saved, but not all of it is in the PACS."
		}
	})
}

// station is this station in the audit trail.
func (rn *run) station() audit.Participant {
	if me := rn.p.cfg.Me; me != (audit.Participant{}) {
		return me
	}
	return audit.Local("receiver", "")
}

// retryImport stores the study saved by this run in the PACS again, from
// its folder, as receiver import does; false if there is none, or an
// import or fetch is running.
func (rn *run) retryImport() bool {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	if rn.running || rn.dir == "" {
		return false
	}
	rn.running = true
	dir := rn.dir
	rn.b.update(func(s *State) {
		s.Busy, s.Phase, s.Note = true, PhaseImporting, "Storing the study in the PACS again…"
	})
	go func() {
		in, err := receive.FolderInput(rn.ctx, dir)
		var mismatch *study.MismatchError
		switch {
		case errors.As(err, &mismatch):
			rn.importEvent(receive.RefuseMismatch(rn.p.cfg.Trail, mismatch, rn.station(), audit.Participant{}, ""))
			rn.b.update(func(s *State) { s.Import = &Import{Error: err.Error()} })
		case err != nil:
			rn.b.update(func(s *State) { s.Import = &Import{Error: err.Error()} })
		default:
			rn.importStudy(in)
		}
		rn.end(nil)
	}()
	return true
}

// importEvent shows one event of the import, or of the checks of the
// study received.
func (rn *run) importEvent(e receive.ImportEvent) {
	rn.b.update(func(s *State) {
		if s.Import == nil {
			s.Import = &Import{}
		}
		im := s.Import
		switch e := e.(type) {
		case *receive.Reconciling:
			im.Changes = e.Changes
		case *receive.ReportNotStored:
			s.Warnings = append(s.Warnings, "The report "+e.File+" stays in the folder only: "+e.Reason)
		case *receive.Storing:
			im.URL, im.Total = e.URL, e.Instances
		case *receive.PACSProgress:
			im.Settled, im.Total = e.Settled, e.Total
		case *receive.Imported:
			im.Stored, im.Report, im.Reconciled, im.Done = e.Stored, e.Report, e.Reconciled, true
			im.Failed = nil
			for _, f := range e.Failed {
				im.Failed = append(im.Failed, Failure{File: f.File, Reason: f.Reason})
			}
		case *receive.Mismatch:
			s.Import = nil
			r := &Refused{}
			for _, m := range e.Mismatches {
				r.Mismatches = append(r.Mismatches, Mismatch{File: m.File, Attribute: m.Attribute, Shown: m.Shown, Found: m.Found})
			}
			s.Refused = r
		case *receive.Quarantined:
			s.Import = nil
			if s.Refused == nil {
				s.Refused = &Refused{}
			}
			s.Refused.Dir = e.Dir
			if e.Err != "" {
				s.Warnings = append(s.Warnings, "The refused files stay in "+e.Dir+" ("+e.Err+"): do not import them.")
			}
		}
	})
}
