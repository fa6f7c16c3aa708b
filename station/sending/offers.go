package sending

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"imageshare/audit"
	icrypto "imageshare/crypto"
	"imageshare/send"
	"imageshare/spool"
	"imageshare/station"
	"imageshare/study"
	"imageshare/transfer"
)

// A job is a send the page started: packing, then the card given out (or
// a failure, in plain words).
type job struct {
	ID      string `json:"id"`
	Stage   string `json:"stage"` // packing, issuing, ready, failed
	Percent int    `json:"percent"`
	Error   string `json:"error,omitempty"`
	Offer   string `json:"offer,omitempty"`
	Patient string `json:"patient"`
	Study   string `json:"study"`
	Expires string `json:"expires,omitempty"`
	Site    string `json:"site,omitempty"`
}

// send packs a draft into the spool and delivers it: the page's own serve
// (Run) takes the offer, and the card is drawn into memory for the page.
// The answer is the send's ID, and the passcode when one was asked for:
// this answer is the only place it is ever shown.
func (p *Page) send(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxReport+1<<20)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		fail(w, uploadError(err, maxReport))
		return
	}
	defer r.MultipartForm.RemoveAll()
	expires, err := time.ParseDuration(r.FormValue("expires"))
	if err != nil || expires <= 0 {
		fail(w, refuse(http.StatusBadRequest, "the card's life %q is not a duration such as 72h", r.FormValue("expires")))
		return
	}
	passcode := ""
	switch r.FormValue("passcode") {
	case "", "none":
	case "generate":
		if passcode, err = icrypto.GeneratePasscode(); err != nil {
			fail(w, err)
			return
		}
	case "choose":
		passcode = strings.TrimSpace(r.FormValue("passcode_value"))
		if err := send.CheckChosenPasscode(passcode); err != nil {
			fail(w, refuse(http.StatusBadRequest, "The passcode cannot be used: %v (or let the station make one).", err))
			return
		}
	default:
		fail(w, refuse(http.StatusBadRequest, "passcode: none, generate or choose"))
		return
	}
	maxDownloads := spool.DefaultMaxDownloads
	if s := r.FormValue("max_downloads"); s != "" {
		if maxDownloads, err = strconv.Atoi(s); err != nil || maxDownloads < 1 {
			fail(w, refuse(http.StatusBadRequest, "the number of downloads must be at least 1"))
			return
		}
	}
	d := p.take(r.FormValue("draft"))
	if d == nil {
		fail(w, refuse(http.StatusNotFound, "that study is no longer at hand (sent already, or the station restarted): find it again"))
		return
	}
	files := d.reading.Files
	if fh, hdr, err := r.FormFile("report"); err == nil {
		name, err := saveTo(fh, d, "report-upload", hdr.Filename, maxReport)
		fh.Close()
		if err == nil {
			files, _, err = send.AttachReport(files, name, d.staging)
		}
		if err != nil {
			d.staging.Cleanup()
			fail(w, refuse(http.StatusUnprocessableEntity, "The report cannot be sent: %v", strings.TrimPrefix(err.Error(), send.ErrBadInput.Error()+": ")))
			return
		}
	}
	first := d.reading.Studies[0].Summary
	j := &job{ID: newID(), Stage: "packing", Patient: study.FormatName(first.PatientName), Study: study.FormatDate(first.StudyDate) + " " + first.Description, Site: p.cfg.Site}
	p.mu.Lock()
	p.jobs = append(p.jobs, j)
	if len(p.jobs) > 20 {
		p.jobs = p.jobs[1:]
	}
	p.mu.Unlock()
	p.changed()
	opts := send.Options{
		Spool: p.cfg.Spool, Files: files, Studies: d.reading.Summaries(), Site: p.cfg.Site,
		Expires: expires, Keep: r.FormValue("keep") != "", MaxDownloads: maxDownloads, Passcode: passcode,
		Listen: p.cfg.Listen, Relays: p.cfg.Relays, Trail: p.cfg.Trail, Me: p.cfg.Me,
		Events: func(e send.Event) { p.jobEvent(j, e) },
		Issue:  func(c send.Card) error { return p.issue(j, c) },
	}
	p.sends.Add(1)
	go func() {
		defer p.sends.Done()
		err := p.deliver(d, opts)
		if err != nil {
			p.update(j, func() { j.Stage, j.Error = "failed", "The study was not sent: "+err.Error() })
		}
	}()
	station.WriteJSON(w, http.StatusAccepted, map[string]string{"send": j.ID, "passcode": passcode})
}

// deliver packs the study, removes its staging folder, and hands the
// offer to the serve of the spool (or serves it here, when none runs).
func (p *Page) deliver(d *draft, o send.Options) error {
	s, err := send.Pack(p.ctx, o)
	d.staging.Cleanup() // the offer holds what was read now
	if err != nil {
		return err
	}
	return s.Deliver(p.ctx)
}

// issue draws the card into memory, for the page.
func (p *Page) issue(j *job, c send.Card) error {
	uri, err := c.Offer.URI()
	if err != nil {
		return err
	}
	png, err := send.CardPNG(uri, c.Details(p.cfg.Site))
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.cards[c.Offer.ID] = png
	p.mu.Unlock()
	p.update(j, func() {
		j.Stage, j.Percent, j.Offer = "ready", 100, c.Offer.ID.String()
		j.Expires = c.Offer.Expires.Local().Format("Monday 2 January 2006, 15:04")
	})
	return nil
}

// jobEvent follows a send's own events: packing, and what a serve of its
// own (when no other serves the spool) reports.
func (p *Page) jobEvent(j *job, e send.Event) {
	if pk, ok := e.(send.Packing); ok {
		pct := 0
		if pk.Total > 0 {
			pct = int(pk.Done * 100 / pk.Total)
		}
		p.mu.Lock()
		same := j.Percent == pct
		j.Percent = pct
		p.mu.Unlock()
		if !same {
			p.changed()
		}
		return
	}
	p.event(e)
}

func (p *Page) update(j *job, f func()) {
	p.mu.Lock()
	f()
	p.mu.Unlock()
	p.changed()
}

// cardImage answers the card's PNG, by offer ID, to the page only: never
// cached, and with no secret in its URL.
func (p *Page) cardImage(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutSuffix(r.PathValue("file"), ".png")
	id, err := transfer.ParseOfferID(name)
	if !ok || err != nil {
		http.NotFound(w, r)
		return
	}
	p.mu.Lock()
	png := p.cards[id]
	p.mu.Unlock()
	if png == nil {
		http.Error(w, "this station no longer holds that card's image: it is shown only while the offer is live, on the station that made it", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(png)))
	w.Write(png)
}

type printData struct {
	Offer, Site, Patient, Study, Expires string
	Passcode                             bool
}

// print is the A6 page of a card, for the station's printer.
func (p *Page) print(w http.ResponseWriter, r *http.Request) {
	id, err := transfer.ParseOfferID(r.PathValue("offer"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	rec, err := p.cfg.Spool.Load(id)
	p.mu.Lock()
	has := p.cards[id] != nil
	p.mu.Unlock()
	if err != nil || !has {
		http.Error(w, "this station no longer holds that card", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	printPage.Execute(w, printData{Offer: id.String(), Site: rec.Site, Patient: study.FormatName(rec.PatientName),
		Study: study.FormatDate(rec.StudyDate) + " " + rec.Description, Expires: rec.Expires.Local().Format("Monday 2 January 2006, 15:04"), Passcode: rec.Passcode})
}

// revoke ends an offer now, as sender revoke does.
func (p *Page) revoke(w http.ResponseWriter, r *http.Request) {
	var q struct {
		Offer string `json:"offer"`
	}
	if err := decode(r, &q); err != nil {
		fail(w, err)
		return
	}
	id, err := transfer.ParseOfferID(q.Offer)
	if err != nil {
		fail(w, refuse(http.StatusBadRequest, "%v", err))
		return
	}
	rec, err := send.Revoke(p.cfg.Spool, id, p.cfg.Trail)
	if errors.Is(err, spool.ErrNoOffer) {
		fail(w, refuse(http.StatusNotFound, "there is no offer %s in the spool", id))
		return
	}
	if err != nil {
		fail(w, err)
		return
	}
	p.mu.Lock()
	delete(p.cards, id)
	p.mu.Unlock()
	p.changed()
	station.WriteJSON(w, http.StatusOK, map[string]string{"message": fmt.Sprintf("The card of %s (%s) no longer works; its encrypted data is deleted.",
		study.FormatName(rec.PatientName), study.FormatDate(rec.StudyDate)+" "+rec.Description)})
}

// auditOf answers the audit events of an offer, one line each, as sender
// audit prints them.
func (p *Page) auditOf(w http.ResponseWriter, r *http.Request) {
	id, err := transfer.ParseOfferID(r.PathValue("offer"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	path := p.cfg.AuditPath
	if path == "" {
		if path, err = audit.DefaultPath("sender"); err != nil {
			fail(w, err)
			return
		}
	}
	lines := []string{}
	f, err := os.Open(path)
	if err != nil {
		fail(w, fmt.Errorf("reading the audit trail: %w", err))
		return
	}
	defer f.Close()
	audit.Read(f, func(e audit.Event) error {
		for _, o := range e.Objects {
			if o.Type == audit.ObjectOffer && o.ID == id.String() {
				var b bytes.Buffer
				audit.WriteText(&b, e)
				lines = append(lines, strings.TrimSpace(b.String()))
				break
			}
		}
		return nil
	})
	station.WriteJSON(w, http.StatusOK, map[string]any{"events": lines})
}
