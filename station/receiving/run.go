package receiving

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"imageshare/card"
	"imageshare/discovery"
	"imageshare/receive"
	"imageshare/study"
	"imageshare/transfer"
)

// run is one card's work on the page: its fetch, the questions the fetch
// asks the page, the import into the PACS, and the thumbnails.
type run struct {
	p      *page
	b      *board
	offer  *card.Offer // until the fetch ends
	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	running   bool // a fetch or an import
	answers   chan answer
	passcodes chan passcodeAnswer
	studies   []study.Summary
	local     receive.Local
	m         *transfer.Manifest
	dir       string // the study's folder, once saved
	thumbs    *thumbs

	// The rate, from the first progress after the question.
	rateFrom time.Time
	rateDone int64
}

type answer struct {
	yes   bool
	local receive.Local
}

type passcodeAnswer struct {
	passcode string
	cancel   bool
}

func newRun(p *page, offer *card.Offer) *run {
	ctx, cancel := context.WithCancel(p.ctx)
	rn := &run{p: p, b: p.board, offer: offer, ctx: ctx, cancel: cancel, running: true}
	rn.thumbs = newThumbs(rn)
	started := time.Now().Format("15:04")
	rn.b.update(func(s *State) {
		*s = p.idle()
		s.Phase, s.Busy, s.Started = PhaseConnecting, true, started
		s.Note = "Card read. Connecting to the sending hospital…"
	})
	return rn
}

func (rn *run) busy() bool {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	return rn.running
}

func (rn *run) stop() { rn.cancel() }

// fetch runs receive.Fetch, then the import into the PACS if the station
// has one.
func (rn *run) fetch() {
	cfg := rn.p.cfg
	o := cfg.Fetch
	o.Out, o.Trail = cfg.Out, cfg.Trail
	o.Passcode = rn.askPasscode
	o.Confirm = rn.askConfirm
	o.CheckArrived = func(ctx context.Context, a *receive.Arrived) error {
		return receive.CheckArrived(ctx, a, cfg.Trail, rn.importEvent)
	}
	res, err := receive.Fetch(rn.ctx, o, rn.offer, rn.event)
	rn.offer = nil // the card's secret is of no more use
	rn.thumbs.wait()
	if err != nil {
		rn.end(err)
		return
	}
	if cfg.PACS != "" {
		rn.b.update(func(s *State) { s.Phase, s.Note = PhaseImporting, "Verified and saved. Storing it in the PACS…" })
		rn.importStudy(receive.ManifestInput(res.Manifest, res.Dir))
	}
	rn.end(nil)
}

// end ends the fetch or import: done, or failed with err in plain words.
func (rn *run) end(err error) {
	rn.mu.Lock()
	rn.running = false
	saved := rn.dir != ""
	rn.mu.Unlock()
	rn.b.update(func(s *State) {
		s.Busy = false
		switch {
		case err == nil || saved:
			// An import's failure is shown with the import.
			s.Phase, s.Note = PhaseDone, "The study is verified and saved."
		default:
			pr := receive.Explain(err)
			s.Phase, s.Note = PhaseFailed, ""
			s.Problem = &Problem{Message: pr.Message, Advice: pr.Advice, Detail: pr.Detail}
		}
	})
}

// askPasscode is Options.Passcode: it waits for the page.
func (rn *run) askPasscode() (string, error) {
	ch := make(chan passcodeAnswer, 1)
	rn.mu.Lock()
	rn.passcodes = ch
	rn.mu.Unlock()
	rn.b.update(func(s *State) { s.Phase, s.Note = PhasePasscode, "This card needs a passcode." })
	select {
	case a := <-ch:
		rn.b.update(func(s *State) { s.Phase, s.Note = PhaseConnecting, "Connecting to the sending hospital…" })
		if a.cancel {
			return "", receive.ErrPasscode
		}
		return a.passcode, nil
	case <-rn.ctx.Done():
		return "", rn.ctx.Err()
	}
}

// answerPasscode gives the passcode asked for; false if none is.
func (rn *run) answerPasscode(passcode string, cancel bool) bool {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	if rn.passcodes == nil {
		return false
	}
	rn.passcodes <- passcodeAnswer{passcode, cancel}
	rn.passcodes = nil
	return true
}

// askConfirm is Options.Confirm: the page shows the study (from the
// Manifest event) and waits for staff.
func (rn *run) askConfirm(m *transfer.Manifest) (bool, error) {
	ch := make(chan answer, 1)
	rn.mu.Lock()
	rn.answers, rn.studies = ch, m.Studies
	rn.mu.Unlock()
	rn.b.update(func(s *State) { s.Phase, s.Note = PhaseConfirm, "Is this your patient?" })
	select {
	case a := <-ch:
		if a.yes {
			desc := ""
			if c := a.local.Changes(); rn.p.cfg.PACS != "" && len(m.Studies) > 0 {
				desc = receive.DescribeChanges(m.Studies[0], c)
			}
			rn.b.update(func(s *State) { s.Phase, s.Note, s.Local = PhaseReceiving, "Receiving the study…", desc })
		}
		return a.yes, nil
	case <-rn.ctx.Done():
		return false, rn.ctx.Err()
	}
}

// answer gives the answer to the question, once the local values pass
// the checks receiver fetch makes of its flags.
func (rn *run) answer(yes bool, local receive.Local) error {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	if rn.answers == nil {
		return &pageError{http.StatusConflict, "No study is waiting for an answer.", "Read a card first."}
	}
	if yes {
		if err := rn.checkLocal(local); err != nil {
			return err
		}
		rn.local = local
	}
	rn.answers <- answer{yes, local}
	rn.answers = nil
	return nil
}

// checkLocal refuses local values the import could not apply, in plain
// words.
func (rn *run) checkLocal(l receive.Local) error {
	cfg := rn.p.cfg
	bad := func(message, advice string) error { return &pageError{http.StatusBadRequest, message, advice} }
	err := l.Check(cfg.PACS != "", l.Issuer == cfg.Issuer)
	var ve *receive.LocalValueError
	switch {
	case errors.Is(err, receive.ErrLocalWithoutPACS):
		return bad("This station sends nothing to a PACS, so the local values cannot be used.", "Clear them: the study is saved in the folder as the sender sent it.")
	case errors.Is(err, receive.ErrIssuerWithoutID):
		return bad("The issuer goes with a local patient ID.", "Give the local patient ID too, or put back the issuer.")
	case errors.Is(err, receive.ErrIDWithoutIssuer):
		return bad("A local patient ID needs this hospital's issuer of patient IDs, or the PACS would file it under the sending hospital's.", "Type the issuer (issuer in receiver.toml fills it in).")
	case errors.As(err, &ve):
		return bad(ve.Error()+".", "Correct it, then press the button again.")
	case err != nil:
		return bad(err.Error(), "")
	}
	imp := receive.ImportOptions{URL: cfg.PACS, Changes: l.Changes()}
	if err := imp.CheckStudies(rn.studies); errors.Is(err, receive.ErrOneAccession) {
		return bad(fmt.Sprintf("This card holds %d studies, and a local accession number names one.", len(rn.studies)),
			"Leave the accession empty, and give each study its accession in the PACS.")
	}
	return nil
}

// event shows one of the fetch's events.
func (rn *run) event(e receive.Event) {
	switch e := e.(type) {
	case receive.Card:
		rn.b.update(func(s *State) {
			s.Passcode, s.OfferID = e.Passcode, e.OfferID
			s.Expires = e.Expires.Local().Format("2 Jan 2006 15:04")
		})
	case receive.Connecting:
		rn.b.update(func(s *State) { s.Attempt = e.Attempt })
	case receive.Connected:
		rn.b.update(func(s *State) { s.Path, s.Retry = e.Path, "" })
	case receive.Upgraded:
		rn.b.update(func(s *State) { s.Path = "hole-punched" })
	case receive.Retry:
		msg := e.Message
		if errors.Is(e.Err, discovery.ErrUnreachable) {
			msg = "the sender did not answer at any address on the card"
		}
		until := e.Until.Local().Format("15:04")
		rn.b.update(func(s *State) {
			s.Attempt = e.Attempt
			s.Retry = fmt.Sprintf("%s; trying again (attempt %d; giving up at %s)", msg, e.Attempt, until)
		})
	case receive.Warning:
		rn.b.update(func(s *State) { s.Warnings = append(s.Warnings, e.Message) })
	case receive.Manifest:
		rn.manifest(e)
	case receive.Progress:
		rn.progress(e)
	case receive.SeriesComplete:
		n := rn.thumbs.complete(e)
		rn.b.update(func(s *State) {
			if n >= 0 && n < len(s.Series) {
				s.Series[n].Complete = true
			}
		})
	case receive.Verified:
		rn.b.update(func(s *State) {
			s.Verified, s.Dir, s.Seconds = true, e.Dir, e.Seconds
			s.Fetched, s.Reused = study.FormatBytes(e.Fetched), study.FormatBytes(e.Reused)
			s.Progress.Done, s.Progress.Percent, s.Progress.Left = s.Progress.Total, 100, ""
			s.Note = "Every file is verified."
		})
	case receive.Saved:
		rn.saved(e.Dir)
	}
}

// manifest shows who and what the study is.
func (rn *run) manifest(e receive.Manifest) {
	m := e.Manifest
	rn.mu.Lock()
	rn.m = m
	rn.mu.Unlock()
	o := &Offer{Site: e.Site, Files: e.Files, Size: study.FormatBytes(e.Bytes), Fetch: study.FormatBytes(e.ToFetch)}
	if rf, ok := m.Report(); ok {
		o.Report = fmt.Sprintf("%s (%s)", filepath.Base(rf.Path), study.FormatBytes(rf.Size))
	}
	var series []Series
	for _, st := range e.Studies {
		o.Studies = append(o.Studies, Study{PatientName: study.FormatName(st.PatientName), PatientID: st.PatientID,
			Issuer: st.IssuerOfPatientID, BirthDate: study.FormatDate(st.BirthDate), Sex: sexWord(st.Sex),
			Date: study.FormatDate(st.StudyDate), Description: st.Description, Accession: st.Accession,
			Modalities: fmt.Sprint(st.Modalities)})
		for _, se := range st.Series {
			series = append(series, Series{N: len(series), Number: se.Number, Modality: se.Modality,
				Description: se.Description, Images: se.Images, Size: study.FormatBytes(se.Bytes)})
		}
	}
	rn.thumbs.setSeries(m, series)
	rn.b.update(func(s *State) {
		s.Offer, s.Series, s.Resuming = o, series, e.Resuming()
		s.Progress = Progress{Done: e.StoredBytes - e.ToFetch, Total: e.StoredBytes}
	})
}

func sexWord(s string) string {
	switch s {
	case "M":
		return "male"
	case "F":
		return "female"
	case "O":
		return "other"
	}
	return s
}

// progress shows how far the fetch is, its rate and the time left.
func (rn *run) progress(e receive.Progress) {
	now := time.Now()
	rn.mu.Lock()
	if rn.rateFrom.IsZero() {
		rn.rateFrom, rn.rateDone = now, e.Done
	}
	from, done0 := rn.rateFrom, rn.rateDone
	rn.mu.Unlock()
	p := Progress{Done: e.Done, Total: e.Total}
	if e.Total > 0 {
		p.Percent = int(e.Done * 100 / e.Total)
	}
	if secs := now.Sub(from).Seconds(); secs >= 0.5 && e.Done > done0 {
		rate := float64(e.Done-done0) / secs
		p.Rate = study.FormatBytes(int64(rate)) + "/s"
		p.Left = timeLeft(time.Duration(float64(e.Total-e.Done) / rate * float64(time.Second)))
	}
	rn.b.update(func(s *State) { s.Progress = p })
}

// timeLeft says a duration as staff read it.
func timeLeft(d time.Duration) string {
	switch {
	case d < 10*time.Second:
		return "a few seconds"
	case d < time.Minute:
		return fmt.Sprintf("about %d seconds", int(d.Seconds()+5)/10*10)
	case d < 2*time.Minute:
		return "about a minute"
	default:
		return fmt.Sprintf("about %d minutes", int(d.Minutes()+0.5))
	}
}

// saved: the study is in place, in dir.
func (rn *run) saved(dir string) {
	rn.mu.Lock()
	rn.dir = dir
	m := rn.m
	rn.mu.Unlock()
	rn.thumbs.saved(dir)
	kind := ""
	if m != nil {
		if rf, ok := m.Report(); ok {
			kind = reportKind(filepath.Join(dir, filepath.FromSlash(rf.Path)))
		}
	}
	rn.b.update(func(s *State) { s.Dir, s.Report = dir, kind })
}
