package sending

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"imageshare/audit"
	"imageshare/send"
	"imageshare/spool"
	"imageshare/station"
	"imageshare/transfer"
)

//go:embed assets
var assets embed.FS

var (
	indexPage = template.Must(template.ParseFS(assets, "assets/index.html"))
	printPage = template.Must(template.ParseFS(assets, "assets/print.html"))
)

// Defaults of a Config.
const (
	DefaultExpires   = 72 * time.Hour
	DefaultMaxUpload = 16 << 30 // a zip from the browser: a big CT with its viewer fits
	maxReport        = 64 << 20 // a report, PDF or text
	maxDrafts        = 8        // studies read and not yet sent, kept at once
)

// Config says what the page sends from, and how.
type Config struct {
	// Spool keeps the offers; the page serves its live offers (Run).
	Spool *spool.Spool
	// Site is the sending hospital, on the card.
	Site string
	// PACS is where studies are looked up and taken from; its URL empty:
	// no PACS search on the page. Its HTTPClient is for tests.
	PACS send.PACS
	// Listen are the libp2p addresses to serve offers on (default: the
	// usual port of every interface); Relays the relays to keep a
	// reservation with.
	Listen []string
	Relays []peer.AddrInfo
	// Trail records the offers; AuditPath is the trail's file, which the
	// page reads for an offer's events (the default trail when empty). Me
	// is this sender in it.
	Trail     *audit.Trail
	AuditPath string
	Me        audit.Participant
	// Expires is the card's life the page proposes (DefaultExpires).
	Expires time.Duration
	// MaxUpload caps a zip uploaded from the browser (DefaultMaxUpload).
	MaxUpload int64
}

// Page is the sender station's page. It is an http.Handler; Run serves
// the spool's offers while the station runs.
type Page struct {
	cfg   Config
	mux   *http.ServeMux
	board *station.Board
	touch chan struct{} // the state changed: publish it

	// ctx ends the sends when the page stops.
	ctx    context.Context
	cancel context.CancelFunc
	sends  sync.WaitGroup

	mu      sync.Mutex
	drafts  map[string]*draft
	jobs    []*job                      // newest last
	cards   map[transfer.OfferID][]byte // the card images, in memory only
	live    map[string]*progress        // what the serve's events said, by offer ID
	serving servingView
	notes   []note
}

// New builds the page for cfg.
func New(cfg Config) (*Page, error) {
	if cfg.Spool == nil {
		return nil, errors.New("the sender station needs a spool")
	}
	if cfg.Expires <= 0 {
		cfg.Expires = DefaultExpires
	}
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = DefaultMaxUpload
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Page{cfg: cfg, board: station.NewBoard(), touch: make(chan struct{}, 1), ctx: ctx, cancel: cancel,
		drafts: map[string]*draft{}, cards: map[transfer.OfferID][]byte{}, live: map[string]*progress{}}
	for _, err := range send.NewStaging(cfg.Spool.Dir).RemoveStale() {
		p.note("warning", err.Error())
	}
	static, err := fs.Sub(assets, "assets/static")
	if err != nil {
		return nil, err
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", p.index)
	m.Handle("GET /static/sending/", http.StripPrefix("/static/sending/", http.FileServerFS(static)))
	m.Handle("GET /api/state", p.board)
	m.HandleFunc("POST /api/search", p.search)
	m.HandleFunc("POST /api/prepare", p.prepare)
	m.HandleFunc("POST /api/upload", p.upload)
	m.HandleFunc("POST /api/choose", p.choose)
	m.HandleFunc("POST /api/send", p.send)
	m.HandleFunc("GET /api/card/{file}", p.cardImage)
	m.HandleFunc("GET /print/{offer}", p.print)
	m.HandleFunc("POST /api/revoke", p.revoke)
	m.HandleFunc("GET /api/offers/{offer}/audit", p.auditOf)
	p.mux = m
	p.publish()
	return p, nil
}

func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.mux.ServeHTTP(w, r) }

// Run serves every live offer of the spool, the page's own included (each
// send hands its offer to it), until ctx is done; it then ends the sends
// still packing and removes the studies read and not sent. Another
// process serving the spool (sender serve) serves the page's offers
// instead, and Run waits for it to stop. A failure to listen is returned.
func (p *Page) Run(ctx context.Context) error {
	defer p.stop()
	go p.publisher(ctx)
	for {
		p.setServing(servingView{State: "starting"})
		err := send.Serve(ctx, send.ServeOptions{Spool: p.cfg.Spool, Listen: p.cfg.Listen, Relays: p.cfg.Relays,
			Trail: p.cfg.Trail, Me: p.cfg.Me, Events: p.event})
		if ctx.Err() != nil {
			return nil
		}
		var held *send.SpoolHeldError
		if !errors.As(err, &held) {
			if err == nil {
				err = errors.New("stopped serving the spool")
			}
			p.setServing(servingView{State: "failed", Text: err.Error()})
			return err
		}
		p.setServing(servingView{State: "other", Text: held.Error() + "; it serves this page's offers, whose progress shows here from the spool's records"})
		t := time.NewTimer(10 * time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// stop ends the sends and removes the drafts' staging folders.
func (p *Page) stop() {
	p.cancel()
	p.sends.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, d := range p.drafts {
		d.staging.Cleanup()
		delete(p.drafts, id)
	}
}

type indexData struct {
	CSRF, Site string
	PACS       bool
	Expires    string
}

func (p *Page) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	indexPage.Execute(w, indexData{CSRF: station.Token(r), Site: p.cfg.Site, PACS: p.cfg.PACS.URL != "", Expires: shortDuration(p.cfg.Expires)})
}

// shortDuration is d as the page's choices write it: 72h, not 72h0m0s.
func shortDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// newID is a random ID for a draft or a send.
func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// plainError is an error whose message staff read as it is.
type plainError struct {
	status int
	msg    string
}

func (e *plainError) Error() string { return e.msg }

func refuse(status int, format string, args ...any) error {
	return &plainError{status, fmt.Sprintf(format, args...)}
}

// fail answers err: a plainError as it says, anything else as it is, in
// a 500.
func fail(w http.ResponseWriter, err error) {
	var pe *plainError
	if errors.As(err, &pe) {
		station.WriteJSONError(w, pe.status, pe)
		return
	}
	station.WriteJSONError(w, http.StatusInternalServerError, err)
}
