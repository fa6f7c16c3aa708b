package main

import (
	"time"

	"imageshare/spool"
	"imageshare/study"
)

// The events that sender prints under --json besides the session's
// (package send): what reading the study found, the card, and the
// answers of list, revoke and unlock.

// dicomdirEvent: a medium's DICOMDIR was followed.
type dicomdirEvent struct {
	Path     string `json:"path"`
	Listed   int    `json:"listed"`
	Unlisted int    `json:"unlisted"`
}

// problemEvent: a file that cannot be sent.
type problemEvent struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// reportConvertedEvent: a text report not in UTF-8, sent as UTF-8.
type reportConvertedEvent struct {
	Path string `json:"path"`
	From string `json:"from"`
}

// studyEvent: a study to be sent.
type studyEvent struct {
	Study study.Summary `json:"study"`
}

// cardEvent: the card of an offer, given out.
type cardEvent struct {
	OfferID      string    `json:"offer_id"`
	URI          string    `json:"uri"`
	Expires      time.Time `json:"expires"`
	PeerID       string    `json:"peer_id"`
	Addrs        []string  `json:"addrs"`
	Card         string    `json:"card"`
	URIFile      string    `json:"uri_file"`
	Files        int       `json:"files"`
	Bytes        int64     `json:"bytes"`
	StoredBytes  int64     `json:"stored_bytes"`
	PackSeconds  float64   `json:"pack_seconds"`
	MaxDownloads int       `json:"max_downloads"`
}

// listedOffer: an offer of the spool, for sender list.
type listedOffer struct {
	OfferID      string      `json:"offer_id"`
	State        spool.State `json:"state"`
	PatientName  string      `json:"patient_name"`
	PatientID    string      `json:"patient_id"`
	StudyUID     string      `json:"study_uid"`
	StudyDate    string      `json:"study_date"`
	Description  string      `json:"description"`
	Created      time.Time   `json:"created"`
	Expires      time.Time   `json:"expires"`
	Downloads    int         `json:"downloads"`
	MaxDownloads int         `json:"max_downloads"`
	Files        int         `json:"files"`
	Bytes        int64       `json:"bytes"`
	Site         string      `json:"site"`
}

// offerChanged: sender revoke ("revoked") or unlock ("unlocked") changed
// an offer.
type offerChanged struct {
	done    string
	OfferID string `json:"offer_id"`
}

func (dicomdirEvent) EventType() string        { return "dicomdir" }
func (problemEvent) EventType() string         { return "problem" }
func (reportConvertedEvent) EventType() string { return "report_converted" }
func (studyEvent) EventType() string           { return "study" }
func (cardEvent) EventType() string            { return "offer" }
func (listedOffer) EventType() string          { return "offer" }
func (e offerChanged) EventType() string       { return e.done }
