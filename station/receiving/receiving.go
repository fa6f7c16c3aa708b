package receiving

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"sync"

	"imageshare/audit"
	"imageshare/card"
	"imageshare/receive"
	"imageshare/station"
)

// Config is what the page needs: where studies go, how the fetch and the
// import into the PACS are made, and the audit trail.
type Config struct {
	// Context bounds every fetch and import the page starts: the
	// command's, cancelled at Ctrl-C. nil is context.Background().
	Context context.Context
	// Out is the folder studies are saved in, as receiver fetch --out.
	Out string
	// Fetch holds the defaults of every fetch: Timeout, RetryFor,
	// MaxRate, Connections. Out, Trail and the questions are the page's.
	Fetch receive.Options
	// PACS is the DICOMweb root of the local PACS ("" for none), and
	// CredentialsFile its "user:password" file; HTTPClient talks to it
	// (nil for http.DefaultClient). BatchBytes as receive.ImportOptions.
	PACS            string
	CredentialsFile string
	HTTPClient      *http.Client
	BatchBytes      int64
	// Issuer is this hospital's issuer of patient IDs, from receiver.toml
	// or --issuer: the page prefills it beside a local patient ID.
	Issuer string
	// Trail records what the page receives and imports; AuditFile is the
	// file it writes, read back for the history ("" for the receiver's
	// default). Me is this station in the trail.
	Trail     *audit.Trail
	AuditFile string
	Me        audit.Participant
}

//go:embed assets
var assets embed.FS

// page is the handler New returns.
type page struct {
	cfg   Config
	ctx   context.Context
	tmpl  *template.Template
	board *board

	mu  sync.Mutex
	run *run // the card being worked on, nil before the first
}

// New returns the receiver station's page, to be served by package
// station.
func New(cfg Config) (http.Handler, error) {
	if cfg.Out == "" {
		return nil, errors.New("receiving: no folder to save studies in")
	}
	if cfg.Context == nil {
		cfg.Context = context.Background()
	}
	tmpl, err := template.ParseFS(assets, "assets/page.html")
	if err != nil {
		return nil, err
	}
	p := &page{cfg: cfg, ctx: cfg.Context, tmpl: tmpl}
	p.board = newBoard(p.idle())
	return p.routes(), nil
}

// idle is the state of a page waiting for a card.
func (p *page) idle() State {
	return State{Phase: PhaseScan, Issuer: p.cfg.Issuer, PACS: receive.RedactedURL(p.cfg.PACS)}
}

func (p *page) routes() http.Handler {
	static, _ := fs.Sub(assets, "assets")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", p.index)
	mux.Handle("GET /static/receiving/", http.StripPrefix("/static/receiving/", http.FileServerFS(static)))
	mux.Handle("GET /api/state", p.board.pub)
	mux.HandleFunc("GET /api/history", p.history)
	mux.HandleFunc("GET /api/thumb/{name}", p.thumb)
	mux.HandleFunc("GET /api/report", p.report)
	mux.HandleFunc("POST /api/card", p.card)
	mux.HandleFunc("POST /api/photo", p.photo)
	mux.HandleFunc("POST /api/passcode", p.passcode)
	mux.HandleFunc("POST /api/confirm", p.confirm)
	mux.HandleFunc("POST /api/cancel", p.cancel)
	mux.HandleFunc("POST /api/import", p.reimport)
	mux.HandleFunc("POST /api/reset", p.reset)
	return mux
}

func (p *page) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	data := struct{ CSRF, Issuer, PACS string }{station.Token(r), p.cfg.Issuer, receive.RedactedURL(p.cfg.PACS)}
	if p.cfg.PACS == "" {
		data.PACS = ""
	}
	if err := p.tmpl.Execute(w, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// maxBody bounds a JSON request: a card's text is well under 1 KiB.
const maxBody = 64 << 10

// card takes a card's text, typed by a scanner, pasted, or read by the
// camera in the page, and starts its fetch.
func (p *page) card(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Text string `json:"text"`
	}
	if err := readJSON(w, r, &req); err != nil {
		return
	}
	p.start(w, strings.TrimSpace(req.Text))
}

// maxPhoto bounds an uploaded photo of the card.
const maxPhoto = 32 << 20

// photo takes a photo of the card (or of the phone showing it), decodes
// it as receiver fetch --qr does, and starts its fetch.
func (p *page) photo(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxPhoto)
	f, _, err := r.FormFile("photo")
	if err != nil {
		refuse(w, Problem{Message: "No photo arrived.", Advice: "Choose a PNG or JPEG photo of the card, at most 32 MB."})
		return
	}
	defer f.Close()
	text, err := card.DecodeImage(f)
	if err != nil {
		explain(w, err)
		return
	}
	p.start(w, text)
}

// start parses the card and, if no other fetch runs, starts its fetch.
func (p *page) start(w http.ResponseWriter, text string) {
	offer, err := card.ParseURI(text)
	if err != nil {
		explain(w, err)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run != nil && p.run.busy() {
		refuse(w, Problem{Message: "Another study is being received on this station right now.",
			Advice: "Wait until it is done (or stop it), then read this card again."})
		p.board.update(func(s *State) {
			s.Notice = "A second card was read while a study is being received; it was not started. Read it again once this one is done."
		})
		return
	}
	p.run = newRun(p, offer)
	go p.run.fetch()
	station.WriteJSON(w, http.StatusAccepted, map[string]string{"ok": "fetching"})
}

func (p *page) current() *run {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.run
}

func (p *page) passcode(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Passcode string `json:"passcode"`
		Cancel   bool   `json:"cancel"`
	}
	if err := readJSON(w, r, &req); err != nil {
		return
	}
	rn := p.current()
	if rn == nil || !rn.answerPasscode(req.Passcode, req.Cancel) {
		problem(w, http.StatusConflict, "No passcode is being asked for now.", "")
		return
	}
	station.WriteJSON(w, http.StatusOK, map[string]string{"ok": "passcode"})
}

// Local is how staff file the study in the PACS, as the page's fields
// give it.
type Local struct {
	PatientID string `json:"patient_id"`
	Issuer    string `json:"issuer"`
	Accession string `json:"accession"`
	Name      string `json:"name"`
}

func (l Local) receive() receive.Local {
	return receive.Local{PatientID: strings.TrimSpace(l.PatientID), Issuer: strings.TrimSpace(l.Issuer),
		Accession: strings.TrimSpace(l.Accession), Name: strings.TrimSpace(l.Name)}
}

func (p *page) confirm(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Receive bool  `json:"receive"`
		Local   Local `json:"local"`
	}
	if err := readJSON(w, r, &req); err != nil {
		return
	}
	rn := p.current()
	if rn == nil {
		problem(w, http.StatusConflict, "No study is waiting for an answer.", "Read a card first.")
		return
	}
	if err := rn.answer(req.Receive, req.Local.receive()); err != nil {
		var pe *pageError
		if errors.As(err, &pe) && pe.status == http.StatusBadRequest {
			// Values staff can correct: an answer, not a failure.
			refuse(w, Problem{Message: pe.message, Advice: pe.advice})
			return
		}
		if errors.As(err, &pe) {
			problem(w, pe.status, pe.message, pe.advice)
			return
		}
		problem(w, http.StatusConflict, err.Error(), "")
		return
	}
	station.WriteJSON(w, http.StatusOK, map[string]string{"ok": "answered"})
}

func (p *page) cancel(w http.ResponseWriter, r *http.Request) {
	if rn := p.current(); rn != nil {
		rn.stop()
	}
	station.WriteJSON(w, http.StatusOK, map[string]string{"ok": "cancelled"})
}

func (p *page) reimport(w http.ResponseWriter, r *http.Request) {
	rn := p.current()
	if rn == nil || p.cfg.PACS == "" {
		problem(w, http.StatusConflict, "There is no study to store in the PACS.", "")
		return
	}
	if !rn.retryImport() {
		problem(w, http.StatusConflict, "The study cannot be stored again now.", "Wait until the study is saved and the last import has ended.")
		return
	}
	station.WriteJSON(w, http.StatusAccepted, map[string]string{"ok": "importing"})
}

func (p *page) reset(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run != nil && p.run.busy() {
		problem(w, http.StatusConflict, "A study is being received or imported now.", "Wait until it is done, or cancel it.")
		return
	}
	p.run = nil
	idle := p.idle()
	p.board.update(func(s *State) { *s = idle })
	station.WriteJSON(w, http.StatusOK, map[string]string{"ok": "reset"})
}

// pageError is a refusal said in plain words, with an HTTP status.
type pageError struct {
	status          int
	message, advice string
}

func (e *pageError) Error() string { return e.message }

func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(v); err != nil {
		problem(w, http.StatusBadRequest, "The request could not be read.", "Reload the page.")
		return err
	}
	return nil
}

// problem answers with an HTTP error, in plain words: "error" as package
// station's script reads it, and the advice.
func problem(w http.ResponseWriter, status int, message, advice string) {
	station.WriteJSON(w, status, struct {
		Error string `json:"error"`
		Problem
	}{message, Problem{Message: message, Advice: advice}})
}

// refuse answers that the request was understood and cannot be done as
// asked, for a reason staff can act on (a text that is not a card, a
// photo without one, a local value that cannot be written): 200 and
// {"problem": …}, which the page shows. The browser keeps HTTP errors for
// what is not the staff's doing.
func refuse(w http.ResponseWriter, p Problem) {
	station.WriteJSON(w, http.StatusOK, struct {
		Problem Problem `json:"problem"`
	}{p})
}

// explain refuses with err in plain words (receive.Explain).
func explain(w http.ResponseWriter, err error) {
	pr := receive.Explain(err)
	refuse(w, Problem{Message: pr.Message, Advice: pr.Advice, Detail: pr.Detail})
}
