package send

import (
	"time"

	"imageshare/spool"
	"imageshare/transfer"
)

// Event is what a session reports. Its JSON is the event's fields; its
// type, EventType, names it ("receipt", "done", …).
//
// The fields of each event are in the order of their JSON keys: a line
// under --json has its keys in the order the sender's earlier map literals
// gave them, but for "type", which comes first.
type Event interface {
	EventType() string
}

// Packing reports the plaintext bytes packed so far, for a progress bar.
type Packing struct {
	Done  int64 `json:"done"`
	Total int64 `json:"total"`
}

// Warning is something staff should know that does not stop the session.
type Warning struct {
	Message string `json:"message"`
}

// Relay reports a relay's answer to the sender's reservation: Expires
// when it holds one, Error when it refused or could not be reached (the
// sender keeps trying).
type Relay struct {
	Error    string    `json:"error,omitempty"`
	Expires  time.Time `json:"expires,omitzero"`
	Relay    string    `json:"relay"`
	Reserved bool      `json:"reserved"`
}

// OwnIdentity reports that another sender send (PID) serves with the
// spool's identity, so this offer is served with an identity of its own.
type OwnIdentity struct {
	PID int `json:"pid"`
}

// ServingOffer reports that this process serves the offer, as PeerID,
// until Expires; with Keep, after its first receipt too. Addrs are the
// addresses it listens on: the hospital's IT opens them in the firewall.
type ServingOffer struct {
	Addrs   []string  `json:"addrs"`
	Expires time.Time `json:"expires"`
	Keep    bool      `json:"keep"`
	OfferID string    `json:"offer_id"`
	PeerID  string    `json:"peer_id"`
}

// HandedOff reports the offer handed to the spool's sender serve (PID),
// which serves it until Expires or its first receipt (with Keep, until
// MaxDownloads downloads).
type HandedOff struct {
	Expires      time.Time `json:"expires"`
	Keep         bool      `json:"keep"`
	MaxDownloads int       `json:"max_downloads"`
	OfferID      string    `json:"offer_id"`
	PID          int       `json:"pid"`
	Spool        string    `json:"spool"`
}

// Refused reports a peer whose proof of the card was refused.
type Refused struct {
	OfferID string `json:"offer_id"`
	PeerID  string `json:"peer_id"`
	Reason  string `json:"reason"`
}

// RateLimited reports a peer held back after too many failed attempts
// from its address.
type RateLimited struct {
	OfferID string `json:"offer_id"`
	PeerID  string `json:"peer_id"`
}

// Damaged reports a chunk that does not match its hash in the spool.
type Damaged struct {
	Message string `json:"message"`
	OfferID string `json:"offer_id"`
}

// Busy reports a stream refused over the sender's limits.
type Busy struct {
	OfferID string `json:"offer_id"`
	PeerID  string `json:"peer_id"`
}

// Manifest reports that a card holder opened the offer. StoredBytes, the
// size of one copy of the sealed chunks, is for a progress bar.
type Manifest struct {
	OfferID     string `json:"offer_id"`
	PeerID      string `json:"peer_id"`
	StoredBytes int64  `json:"-"`
}

// Sent reports a sealed chunk sent, for a progress bar.
type Sent struct {
	Bytes   int64  `json:"bytes"`
	OfferID string `json:"offer_id"`
}

// Download reports every chunk of the offer sent once more: a download
// counted by the sender (Downloads in all), receipt or not.
type Download struct {
	Downloads int    `json:"downloads"`
	OfferID   string `json:"offer_id"`
	PeerID    string `json:"peer_id"`
}

// ReceiptRefused reports a receipt that does not name the offer's files
// and bytes.
type ReceiptRefused struct {
	Bytes   int64  `json:"bytes"`
	Files   int    `json:"files"`
	OfferID string `json:"offer_id"`
	PeerID  string `json:"peer_id"`
}

// LockedOut reports a peer that asked for a locked offer.
type LockedOut struct {
	OfferID string `json:"offer_id"`
	PeerID  string `json:"peer_id"`
}

// Locked reports an offer locked after FailedProofs failed attempts to
// open it: it serves no one until `sender unlock`.
type Locked struct {
	FailedProofs int    `json:"failed_proofs"`
	OfferID      string `json:"offer_id"`
}

// Receipt reports the receiving hospital's confirmation that Files files
// (Bytes bytes) arrived verified.
type Receipt struct {
	Bytes   int64  `json:"bytes"`
	Files   int    `json:"files"`
	OfferID string `json:"offer_id"`
	PeerID  string `json:"peer_id"`
}

// Ended reports an offer that stopped being live; its ciphertext is
// deleted.
type Ended struct {
	Downloads int         `json:"downloads"`
	OfferID   string      `json:"offer_id"`
	State     spool.State `json:"state"`
}

// Done ends a send: what was delivered.
type Done struct {
	OfferID   string `json:"offer_id"`
	Receipts  int    `json:"receipts"`
	Refused   int    `json:"refused"`
	SentBytes int64  `json:"sent_bytes"`
}

// Serving reports that `sender serve` serves LiveOffers live offers of
// Spool as PeerID, listening on Addrs.
type Serving struct {
	LiveOffers int      `json:"live_offers"`
	PeerID     string   `json:"peer_id"`
	Spool      string   `json:"spool"`
	Addrs      []string `json:"-"`
}

// Stopped reports that `sender serve` stopped; its offers stay in the
// spool.
type Stopped struct{}

// EventType names each event.
func (Packing) EventType() string        { return "packing" }
func (Warning) EventType() string        { return "warning" }
func (Relay) EventType() string          { return "relay" }
func (OwnIdentity) EventType() string    { return "own_identity" }
func (ServingOffer) EventType() string   { return "serving_offer" }
func (HandedOff) EventType() string      { return "handed_off" }
func (Refused) EventType() string        { return "refused" }
func (RateLimited) EventType() string    { return "rate_limited" }
func (Damaged) EventType() string        { return "damaged" }
func (Busy) EventType() string           { return "busy" }
func (Manifest) EventType() string       { return "manifest" }
func (Sent) EventType() string           { return "sent" }
func (Download) EventType() string       { return "download" }
func (ReceiptRefused) EventType() string { return "receipt_refused" }
func (LockedOut) EventType() string      { return "locked_out" }
func (Locked) EventType() string         { return "locked" }
func (Receipt) EventType() string        { return "receipt" }
func (Ended) EventType() string          { return "ended" }
func (Done) EventType() string           { return "done" }
func (Serving) EventType() string        { return "serving" }
func (Stopped) EventType() string        { return "stopped" }

// offerID is the form events give an offer's ID in.
func offerID(id transfer.OfferID) string { return id.String() }
