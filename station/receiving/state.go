package receiving

import (
	"sync"

	"imageshare/station"
)

// Phase is where the page is in one card's work.
type Phase string

// The phases, in the order a fetch goes through them.
const (
	PhaseScan       Phase = "scan"       // waiting for a card
	PhaseConnecting Phase = "connecting" // the card is read; reaching the sender
	PhasePasscode   Phase = "passcode"   // the card needs its passcode
	PhaseConfirm    Phase = "confirm"    // is this our patient?
	PhaseReceiving  Phase = "receiving"  // the study is arriving
	PhaseImporting  Phase = "importing"  // verified and saved; going into the PACS
	PhaseDone       Phase = "done"       // verified and saved (and imported, if asked)
	PhaseFailed     Phase = "failed"     // see Problem
)

// State is everything the page shows, as JSON. It never holds the card's
// text or a passcode.
type State struct {
	Phase    Phase    `json:"phase"`
	Issuer   string   `json:"issuer"`   // the station's, to prefill
	PACS     string   `json:"pacs"`     // the PACS's address, "" without one
	Attempt  int      `json:"attempt"`  // of reaching the sender
	Retry    string   `json:"retry"`    // why the last attempt failed, while retrying
	Path     string   `json:"path"`     // direct, relayed or hole-punched
	Warnings []string `json:"warnings"` //
	Passcode bool     `json:"passcode"` // the card needs one
	Expires  string   `json:"expires"`  // the card's expiry, local time
	OfferID  string   `json:"offer_id"` // names the card (not secret)
	Offer    *Offer   `json:"offer"`    // once the sender answered
	Progress Progress `json:"progress"` //
	Series   []Series `json:"series"`   // each series of the offer
	Dir      string   `json:"dir"`      // the study's folder, once saved
	Report   string   `json:"report"`   // "pdf" or "text" once readable, else ""
	Verified bool     `json:"verified"` // every file matched its hash
	Import   *Import  `json:"import"`   // the import into the PACS
	Refused  *Refused `json:"refused"`  // the files are not the study shown
	Problem  *Problem `json:"problem"`  // why it failed, in plain words
	Notice   string   `json:"notice"`   // a plain note, e.g. a second card refused
	Seconds  float64  `json:"seconds"`  // the fetch's, once verified
	Resuming bool     `json:"resuming"` // part of the study was here already
	Started  string   `json:"started"`  // when the card was read
	Note     string   `json:"note"`     // what is going on, in a few words
	Fetched  string   `json:"fetched"`  // bytes over the network, once verified
	Reused   string   `json:"reused"`   // bytes found on disk, on a resume
	Local    string   `json:"local"`    // how the PACS copies are filed
	Busy     bool     `json:"busy"`     // a fetch or an import is running
}

// Offer is who and what the study is, as the sender says.
type Offer struct {
	Site    string  `json:"site"`
	Studies []Study `json:"studies"`
	Report  string  `json:"report"` // its name and size, "" without one
	Size    string  `json:"size"`   // of the files
	Fetch   string  `json:"fetch"`  // to fetch over the network
	Files   int     `json:"files"`
}

// Study is one study of the offer, its values formatted for people.
type Study struct {
	PatientName string `json:"patient_name"`
	PatientID   string `json:"patient_id"`
	Issuer      string `json:"issuer"`
	BirthDate   string `json:"birth_date"`
	Sex         string `json:"sex"`
	Date        string `json:"date"`
	Description string `json:"description"`
	Accession   string `json:"accession"`
	Modalities  string `json:"modalities"`
}

// Series is one series of the offer and how far it is.
type Series struct {
	N           int    `json:"n"` // its index, for api/thumb/N.png
	Number      int    `json:"number"`
	Modality    string `json:"modality"`
	Description string `json:"description"`
	Images      int    `json:"images"`
	Size        string `json:"size"`
	Complete    bool   `json:"complete"`
	Thumb       string `json:"thumb"`      // "", "ready" or "none"
	NoPreview   string `json:"no_preview"` // why not, for "none"
}

// Progress is how far the fetch is.
type Progress struct {
	Done    int64  `json:"done"`
	Total   int64  `json:"total"`
	Percent int    `json:"percent"`
	Rate    string `json:"rate"` // e.g. "12.5 MiB/s"
	Left    string `json:"left"` // e.g. "about 2 minutes"
}

// Import is the import into the PACS.
type Import struct {
	URL        string    `json:"url"`
	Running    bool      `json:"running"`
	Changes    string    `json:"changes"` // reconciliation, as said
	Settled    int       `json:"settled"`
	Total      int       `json:"total"`
	Stored     int       `json:"stored"`
	Failed     []Failure `json:"failed"`
	Report     string    `json:"report"`
	Done       bool      `json:"done"`
	Error      string    `json:"error"` // why it did not begin or end
	Reconciled bool      `json:"reconciled"`
}

// Failure is one instance the PACS does not hold, and why.
type Failure struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

// Refused lists how the files differ from the study shown.
type Refused struct {
	Dir        string     `json:"dir"`
	Mismatches []Mismatch `json:"mismatches"`
}

// Mismatch is one attribute of one file that is not as shown.
type Mismatch struct {
	File      string `json:"file"`
	Attribute string `json:"attribute"`
	Shown     string `json:"shown"`
	Found     string `json:"found"`
}

// Problem is a failure in plain words (receive.Explain).
type Problem struct {
	Message string `json:"message"`
	Advice  string `json:"advice"`
	Detail  string `json:"detail"`
}

// board holds the State and publishes each change on a station.Board,
// which answers the page's long polls (api/state?since=N).
type board struct {
	mu  sync.Mutex
	s   State
	pub *station.Board
}

func newBoard(s State) *board {
	b := &board{s: s, pub: station.NewBoard()}
	b.pub.Set(s)
	return b
}

// update changes the state under the lock and publishes it, so that the
// page sees every change, in order.
func (b *board) update(f func(s *State)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f(&b.s)
	b.pub.Set(b.s)
}
