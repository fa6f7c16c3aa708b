package receive

import (
	"time"

	"imageshare/study"
	"imageshare/transfer"
)

// Event is what a session reports: a struct whose JSON is its fields,
// named by EventType (console.MarshalEvent writes {"type":…, fields…}).
// The fields of each are in alphabetical order, as the command line's
// JSON lines were.
type Event interface {
	EventType() string
}

// Card: the card was read; nothing is connected yet.
type Card struct {
	Expires  time.Time `json:"expires"`
	OfferID  string    `json:"offer_id"`
	Passcode bool      `json:"passcode"`
	PeerID   string    `json:"peer_id"`
}

// Connecting: an attempt to reach the sender begins. It is reported for
// the first attempt and for every attempt once the sender has answered.
type Connecting struct {
	Attempt int    `json:"attempt"`
	PeerID  string `json:"peer_id"`
}

// Connected: the sender answered, on Path "direct", "relayed" or
// "hole-punched" (direct after a relayed one).
type Connected struct {
	Addr    string  `json:"addr"`
	Path    string  `json:"path"`
	Seconds float64 `json:"seconds"`
}

// Manifest: the study the sender offers, before anything is asked or
// fetched. A face shows it; the question follows (Options.Confirm).
type Manifest struct {
	Bytes       int64           `json:"bytes"`        // the files'
	Files       int             `json:"files"`        //
	Report      bool            `json:"report"`       // a report comes with the images
	Seconds     float64         `json:"seconds"`      // since the fetch began
	Site        string          `json:"site"`         // the sender's, as it says
	StoredBytes int64           `json:"stored_bytes"` // over the network, the whole study
	Studies     []study.Summary `json:"studies"`

	// Manifest is the whole manifest, for a face to show (the report's
	// name, each series).
	Manifest *transfer.Manifest `json:"-"`
	// ToFetch is how many bytes are still to come over the network: on a
	// resume, less than StoredBytes by what is on disk verified already.
	ToFetch int64 `json:"-"`
}

// Resuming reports whether part of the study is here already.
func (e Manifest) Resuming() bool { return e.ToFetch < e.StoredBytes }

// Progress: Done of Total network bytes are verified, counting those
// found on disk on a resume.
type Progress struct {
	Done  int64 `json:"done"`
	Total int64 `json:"total"`
}

// SeriesComplete: every file of a series is verified; the series can be
// opened in Dir (in the incoming folder, until the whole study is).
type SeriesComplete struct {
	Description string  `json:"description"`
	Dir         string  `json:"dir"`
	Images      int     `json:"images"`
	Number      int     `json:"number"`
	Seconds     float64 `json:"seconds"` // as Summary.Seconds
	SeriesUID   string  `json:"series_uid"`
}

// Retry: an attempt failed and another follows after AfterSeconds.
type Retry struct {
	AfterSeconds float64 `json:"after_seconds"`
	Attempt      int     `json:"attempt"` // the next one's number
	Message      string  `json:"message"` // Err, with libp2p's detail

	Err   error     `json:"-"`
	Until time.Time `json:"-"` // when the session gives up
}

// Upgraded: hole punching opened a direct connection while a relayed one
// carried the fetch; the fetch goes on over it, keeping what is verified.
type Upgraded struct{}

// Warning: something staff should know that does not stop the fetch.
type Warning struct {
	Message string `json:"message"`
}

// Verified: every file matched its hash, and the study is in place.
type Verified struct {
	Bytes   int64   `json:"bytes"`         // the files'
	Dir     string  `json:"dir"`           // where the study is now
	Fetched int64   `json:"fetched_bytes"` // over the network
	Files   int     `json:"files"`
	Reused  int64   `json:"reused_bytes"` // files' bytes found on disk
	Seconds float64 `json:"seconds"`      // as Summary.Seconds
}

// Saved: the study is in place and the sender was told, or warned about.
type Saved struct {
	Dir string `json:"dir"`
}

// Summary is the last event of a fetch that succeeded; the face emits it
// (Result.Summary), once it has done what it does after the session (the
// command line's import into the PACS).
type Summary struct {
	Attempts    int     `json:"attempts"`
	Bytes       int64   `json:"bytes"`
	Connections int     `json:"connections"`
	Dir         string  `json:"dir"`
	Fetched     int64   `json:"fetched_bytes"`
	Files       int     `json:"files"`
	FirstSeries float64 `json:"first_series_seconds"`
	OfferID     string  `json:"offer_id"`
	PACS        any     `json:"pacs,omitempty"` // the face's import, if any
	Path        string  `json:"path"`
	Reused      int64   `json:"reused_bytes"`
	// Seconds is the time from the start of the fetch until the study
	// was in place, less the time spent waiting for staff: at the
	// question, and for the passcode. "verified … in" says it too.
	Seconds   float64  `json:"seconds"`
	StudyUID  string   `json:"study_uid"`
	StudyUIDs []string `json:"study_uids"`
	Verified  bool     `json:"verified"`
}

// EventType names each event in its JSON line.
func (Card) EventType() string           { return "card" }
func (Connecting) EventType() string     { return "connecting" }
func (Connected) EventType() string      { return "connected" }
func (Manifest) EventType() string       { return "manifest" }
func (Progress) EventType() string       { return "progress" }
func (SeriesComplete) EventType() string { return "series_complete" }
func (Retry) EventType() string          { return "retry" }
func (Upgraded) EventType() string       { return "upgraded" }
func (Warning) EventType() string        { return "warning" }
func (Verified) EventType() string       { return "verified" }
func (Saved) EventType() string          { return "saved" }
func (Summary) EventType() string        { return "summary" }
