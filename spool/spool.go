package spool

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"

	"imageshare/discovery"
	"imageshare/internal/appdir"
	"imageshare/internal/atomicfile"
	"imageshare/internal/filelock"
	"imageshare/internal/private"
	"imageshare/transfer"
)

// DefaultMaxDownloads is how many downloads end an offer served with
// --keep: verified receipts, or whole copies sent without one.
const DefaultMaxDownloads = 3

// ProofBudget is how many failed proofs an offer takes, in all and from
// anyone, before it is locked: a photographed card whose passcode is
// being guessed. A locked offer serves no one until `sender unlock`.
const ProofBudget = 20

// State is where an offer is in its life.
type State string

// States of an offer.
const (
	Live    State = "live"
	Expired State = "expired"
	Revoked State = "revoked"
	UsedUp  State = "used"
)

// Receipt is one receiver's confirmation that every file arrived verified.
type Receipt struct {
	Time  time.Time `json:"time"`
	Peer  string    `json:"peer_id"`
	Files int       `json:"files"`
	Bytes int64     `json:"bytes"`
}

// Served is a whole copy of an offer's chunks sent, counted by the sender
// whether or not a receipt followed.
type Served struct {
	Time  time.Time `json:"time"`
	Peer  string    `json:"peer_id"` // the peer sent the last chunk of the copy
	Bytes int64     `json:"stored_bytes"`
}

// Record is what the spool keeps of an offer besides its ciphertext.
type Record struct {
	ID           transfer.OfferID `json:"-"`
	IDHex        string           `json:"id"`
	Created      time.Time        `json:"created"`
	Expires      time.Time        `json:"expires"`
	MaxDownloads int              `json:"max_downloads"`
	// Keep serves the offer after its first verified receipt, until it
	// expires or reaches MaxDownloads; without it the first receipt ends
	// the offer.
	Keep     bool      `json:"keep,omitempty"`
	Receipts []Receipt `json:"receipts,omitempty"`
	// Served lists each whole copy of the chunks sent.
	Served []Served `json:"served,omitempty"`
	// FailedProofs counts the proofs refused for this offer, from anyone.
	FailedProofs int               `json:"failed_proofs,omitempty"`
	Verifier     ed25519.PublicKey `json:"verifier"`
	Passcode     bool              `json:"passcode,omitempty"`
	// ManifestHash is the card's hash of the sealed manifest: the
	// service checks the offer's folder against it before serving.
	ManifestHash []byte `json:"manifest_hash"`
	// StoredBytes is the size of one whole copy of the sealed chunks.
	StoredBytes int64 `json:"stored_bytes,omitempty"`
	// LegacyExtents and LegacyStoredHash are the chunk index as the
	// record kept it for offers packed before the offer's folder held it
	// (transfer.IndexFile). The service writes that file from them when it
	// finds none; new records leave them empty.
	LegacyExtents    []transfer.Extent `json:"extents,omitempty"`
	LegacyStoredHash [][]byte          `json:"stored_blake3,omitempty"`
	// What `sender list` shows.
	Site        string `json:"site,omitempty"`
	PatientName string `json:"patient_name"`
	PatientID   string `json:"patient_id"`
	StudyUID    string `json:"study_uid"`
	StudyDate   string `json:"study_date"`
	Description string `json:"description"`
	Files       int    `json:"files"`
	Bytes       int64  `json:"bytes"`
	// Revoked and Locked are set from their markers when the record is
	// loaded.
	Revoked bool `json:"-"`
	Locked  bool `json:"-"`
}

// Downloads counts the offer's downloads as the sender saw them: verified
// receipts, or whole copies of the chunks sent, whichever is more. A
// receiver that never confirms is counted all the same, and one that
// confirms what it was sent is counted once.
func (r *Record) Downloads() int { return max(len(r.Receipts), len(r.Served)) }

// usedUp reports whether the offer has had its downloads: MaxDownloads
// verified receipts, or one whole copy more than MaxDownloads sent. The
// copy of slack is for chunks lost in flight, which a receiver asks for
// again after a dropped connection or when hole punching moves it to a
// direct one: counted as sent, they would end an offer of one download
// before its receiver has the study.
func (r *Record) usedUp() bool {
	return r.MaxDownloads > 0 && (len(r.Receipts) >= r.MaxDownloads || len(r.Served) > r.MaxDownloads)
}

// State says whether the offer can still be served at now.
func (r *Record) State(now time.Time) State {
	switch {
	case r.Revoked:
		return Revoked
	case !r.Keep && len(r.Receipts) > 0:
		return UsedUp
	case r.usedUp():
		return UsedUp
	case !now.Before(r.Expires):
		return Expired
	}
	return Live
}

// Err is the transfer error a receiver gets for an offer in state s.
func (s State) Err() error {
	switch s {
	case Expired:
		return transfer.ErrExpired
	case Revoked:
		return transfer.ErrRevoked
	case UsedUp:
		return transfer.ErrUsedUp
	}
	return nil
}

// Spool is a folder of offers.
type Spool struct {
	Dir string
}

// Open opens, creating if need be, the spool in dir: private (package
// private), as it holds what decrypts nothing but says who was sent what.
func Open(dir string) (*Spool, error) {
	if err := private.MkdirAll(filepath.Join(dir, "offers")); err != nil {
		return nil, fmt.Errorf("opening spool: %w", err)
	}
	return &Spool{Dir: dir}, nil
}

// DefaultDir is the folder "spool" in the user's state folder (package
// appdir): $XDG_STATE_HOME/imageshare/spool or
// ~/.local/state/imageshare/spool on Linux,
// %LOCALAPPDATA%\imageshare\spool on Windows.
func DefaultDir() string {
	if d, err := appdir.State(appdir.User); err == nil {
		return filepath.Join(d, "spool")
	}
	return filepath.Join(os.TempDir(), "imageshare-spool")
}

// OfferDir is the folder of offer id.
func (s *Spool) OfferDir(id transfer.OfferID) string {
	return filepath.Join(s.Dir, "offers", id.String())
}

// Identity returns the sender's stable libp2p key, creating it the first
// time. A stable key keeps cards valid when the sender restarts.
func (s *Spool) Identity() (crypto.PrivKey, error) {
	k, _, err := discovery.LoadIdentity(filepath.Join(s.Dir, "identity.key"))
	return k, err
}

// Save writes r atomically.
func (s *Spool) Save(r *Record) error {
	r.IDHex = r.ID.String()
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	name := filepath.Join(s.OfferDir(r.ID), "offer.json")
	return atomicfile.Write(name, b, 0o600)
}

// ErrNoOffer is returned for an offer the spool does not hold.
var ErrNoOffer = errors.New("no such offer in the spool")

// Load reads the record of offer id.
func (s *Spool) Load(id transfer.OfferID) (*Record, error) {
	b, err := os.ReadFile(filepath.Join(s.OfferDir(id), "offer.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoOffer, id)
	}
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("reading offer %s: %w", id, err)
	}
	if r.ID, err = transfer.ParseOfferID(r.IDHex); err != nil || r.ID != id {
		return nil, fmt.Errorf("offer %s: record names offer %q", id, r.IDHex)
	}
	r.Revoked = s.IsRevoked(id)
	r.Locked = s.IsLocked(id)
	return &r, nil
}

// List returns every offer's record, newest first. Folders without a
// record (an offer still being packed) are left out.
func (s *Spool) List() ([]*Record, error) {
	ents, err := os.ReadDir(filepath.Join(s.Dir, "offers"))
	if err != nil {
		return nil, err
	}
	var out []*Record
	for _, e := range ents {
		id, err := transfer.ParseOfferID(e.Name())
		if err != nil || !e.IsDir() {
			continue
		}
		r, err := s.Load(id)
		if errors.Is(err, ErrNoOffer) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// IsRevoked reports whether offer id was revoked.
func (s *Spool) IsRevoked(id transfer.OfferID) bool {
	_, err := os.Stat(filepath.Join(s.OfferDir(id), "revoked"))
	return err == nil
}

// Revoke ends offer id at once: a receiver that asks for it is told it was
// revoked, and its ciphertext is deleted.
func (s *Spool) Revoke(id transfer.OfferID) (*Record, error) {
	r, err := s.Load(id)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(filepath.Join(s.OfferDir(id), "revoked"), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600); err != nil {
		return nil, err
	}
	r.Revoked = true
	return r, s.Purge(id)
}

// Purge deletes an ended offer's ciphertext, keeping its record so that a
// receiver can be told why it ended.
func (s *Spool) Purge(id transfer.OfferID) error {
	return transfer.RemoveData(s.OfferDir(id))
}

// Purged reports whether an offer's ciphertext is gone.
func (s *Spool) Purged(id transfer.OfferID) bool {
	_, err := os.Stat(filepath.Join(s.OfferDir(id), transfer.DataFile))
	return errors.Is(err, os.ErrNotExist)
}

// Lock takes the spool's serve lock without waiting. held is true when
// another process has it.
func (s *Spool) Lock() (unlock func(), held bool, err error) {
	f, err := os.OpenFile(filepath.Join(s.Dir, "serve.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, err
	}
	if held, err := filelock.TryLock(f); held || err != nil {
		f.Close()
		return nil, held, err
	}
	// What a process that held the lock before said of itself is stale.
	os.Remove(filepath.Join(s.Dir, "serving.json"))
	return func() {
		os.Remove(filepath.Join(s.Dir, "serving.json"))
		filelock.Unlock(f)
		f.Close()
	}, false, nil
}

// Serving describes the process that serves the spool.
type Serving struct {
	PID    int      `json:"pid"`
	PeerID string   `json:"peer_id"`
	Addrs  []string `json:"addrs"`
	Mode   string   `json:"mode"` // "serve" or "send"
}

// WriteServing records who serves the spool; the holder of the lock calls it.
func (s *Spool) WriteServing(v Serving) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	name := filepath.Join(s.Dir, "serving.json")
	return atomicfile.Write(name, b, 0o600)
}

// ReadServing reads who serves the spool, waiting up to timeout for the
// process that holds the lock to say it.
func (s *Spool) ReadServing(timeout time.Duration) (*Serving, error) {
	deadline := time.Now().Add(timeout)
	for {
		b, err := os.ReadFile(filepath.Join(s.Dir, "serving.json"))
		if err == nil {
			var v Serving
			return &v, json.Unmarshal(b, &v)
		}
		if !errors.Is(err, os.ErrNotExist) || time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// AddReceipt records a verified receipt for offer id.
func (s *Spool) AddReceipt(id transfer.OfferID, rc Receipt) (*Record, error) {
	return s.update(id, func(r *Record) { r.Receipts = append(r.Receipts, rc) })
}

// AddServed records a whole copy of offer id's chunks sent.
func (s *Spool) AddServed(id transfer.OfferID, v Served) (*Record, error) {
	return s.update(id, func(r *Record) { r.Served = append(r.Served, v) })
}

// FailedProof counts a refused proof for offer id and locks the offer
// when it reaches budget. locked is true for the failure that locked it.
func (s *Spool) FailedProof(id transfer.OfferID, budget int) (rec *Record, locked bool, err error) {
	rec, err = s.update(id, func(r *Record) {
		r.FailedProofs++
		if r.FailedProofs >= budget && !r.Locked {
			if err := atomicfile.Write(filepath.Join(s.OfferDir(id), "locked"), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600); err == nil {
				r.Locked, locked = true, true
			}
		}
	})
	return rec, locked, err
}

// IsLocked reports whether offer id is locked after too many failed proofs.
func (s *Spool) IsLocked(id transfer.OfferID) bool {
	_, err := os.Stat(filepath.Join(s.OfferDir(id), "locked"))
	return err == nil
}

// Unlock lets offer id be served again after it was locked, with a fresh
// budget of failed proofs.
func (s *Spool) Unlock(id transfer.OfferID) (*Record, error) {
	return s.update(id, func(r *Record) {
		r.FailedProofs = 0
		r.Locked = false
	}, func() error {
		if err := os.Remove(filepath.Join(s.OfferDir(id), "locked")); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	})
}

// update reads, changes and writes the record of offer id under a lock:
// several processes may serve one offer (a sender send and a sender serve
// on the same spool).
// before, if given, runs first under the same lock.
func (s *Spool) update(id transfer.OfferID, change func(*Record), before ...func() error) (*Record, error) {
	f, err := os.OpenFile(filepath.Join(s.OfferDir(id), "offer.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := filelock.Lock(f); err != nil {
		return nil, err
	}
	defer filelock.Unlock(f)
	for _, b := range before {
		if err := b(); err != nil {
			return nil, err
		}
	}
	r, err := s.Load(id)
	if err != nil {
		return nil, err
	}
	change(r)
	return r, s.Save(r)
}

// MarkLoaded is written by the serving process once it serves offer id.
func (s *Spool) MarkLoaded(id transfer.OfferID) error {
	return atomicfile.Write(filepath.Join(s.OfferDir(id), "loaded"), nil, 0o600)
}

// WaitLoaded waits until the serving process serves offer id.
func (s *Spool) WaitLoaded(id transfer.OfferID, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(filepath.Join(s.OfferDir(id), "loaded")); err == nil {
			return true
		}
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}
