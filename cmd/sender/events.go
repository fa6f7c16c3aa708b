package main

import (
	"time"

	"imageshare/spool"
	"imageshare/study"
)

// The events that sender prints under --json besides the session's
// (package send): what reading the study found, the card, and the
// answers of list, revoke and unlock. Their fields are in the order of
// their JSON keys, as in package send.

// dicomdirEvent: a medium's DICOMDIR was followed.
type dicomdirEvent struct {
	Listed   int    `json:"listed"`
	Path     string `json:"path"`
	Unlisted int    `json:"unlisted"`
}

// problemEvent: a file that cannot be sent.
type problemEvent struct {
	Message string `json:"message"`
	Path    string `json:"path"`
}

// reportConvertedEvent: a text report not in UTF-8, sent as UTF-8.
type reportConvertedEvent struct {
	From string `json:"from"`
	Path string `json:"path"`
}

// studyEvent: a study to be sent.
type studyEvent struct {
	Study study.Summary `json:"study"`
}

// cardEvent: the card of an offer, given out.
type cardEvent struct {
	Addrs        []string  `json:"addrs"`
	Bytes        int64     `json:"bytes"`
	Card         string    `json:"card"`
	Expires      time.Time `json:"expires"`
	Files        int       `json:"files"`
	MaxDownloads int       `json:"max_downloads"`
	OfferID      string    `json:"offer_id"`
	PackSeconds  float64   `json:"pack_seconds"`
	PeerID       string    `json:"peer_id"`
	StoredBytes  int64     `json:"stored_bytes"`
	URI          string    `json:"uri"`
	URIFile      string    `json:"uri_file"`
}

// listedOffer: an offer of the spool, for sender list.
type listedOffer struct {
	Bytes        int64       `json:"bytes"`
	Created      time.Time   `json:"created"`
	Description  string      `json:"description"`
	Downloads    int         `json:"downloads"`
	Expires      time.Time   `json:"expires"`
	Files        int         `json:"files"`
	MaxDownloads int         `json:"max_downloads"`
	OfferID      string      `json:"offer_id"`
	PatientID    string      `json:"patient_id"`
	PatientName  string      `json:"patient_name"`
	Site         string      `json:"site"`
	State        spool.State `json:"state"`
	StudyDate    string      `json:"study_date"`
	StudyUID     string      `json:"study_uid"`
}

// offerChanged: sender revoke ("revoked") or unlock ("unlocked") changed
// an offer.
type offerChanged struct {
	OfferID string `json:"offer_id"`
	done    string
}

func (dicomdirEvent) EventType() string        { return "dicomdir" }
func (problemEvent) EventType() string         { return "problem" }
func (reportConvertedEvent) EventType() string { return "report_converted" }
func (studyEvent) EventType() string           { return "study" }
func (cardEvent) EventType() string            { return "offer" }
func (listedOffer) EventType() string          { return "offer" }
func (e offerChanged) EventType() string       { return e.done }
