package main

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"imageshare/console"
	"imageshare/send"
	"imageshare/spool"
)

// Each session event prints for staff in the sender's wording, and under
// --json as the line scripts read: the keys of the map literals it
// replaced, and nothing for the events that are for staff only.
func TestPrinters(t *testing.T) {
	exp := time.Date(2026, 5, 1, 12, 30, 0, 0, time.UTC)
	const id, peer = "9a59f8d7f3172fc0", "12D3KooWPeer"
	for _, c := range []struct {
		e    send.Event
		text string   // a part of the text, "" for none
		keys []string // the JSON's keys besides "type", nil for no line
	}{
		{send.Warning{Message: "w"}, "sender: warning: w\n", nil},
		{send.Relay{Relay: "R", Reserved: true, Expires: exp}, "sender: relay R holds a reservation for this sender until ", []string{"relay", "reserved", "expires"}},
		{send.Relay{Relay: "R", Error: "no"}, "sender: warning: relay R: no; trying again\n", []string{"relay", "reserved", "error"}},
		{send.OwnIdentity{PID: 7}, "sender: sender send (pid 7) serves with the spool's identity", nil},
		{send.ServingOffer{OfferID: id, PeerID: peer, Expires: exp, Addrs: []string{"/ip4/127.0.0.1/tcp/7471"}},
			"sender: listening on /ip4/127.0.0.1/tcp/7471\nsender: waiting for the receiving hospital", nil},
		{send.HandedOff{OfferID: id, Spool: "/s", PID: 7, Expires: exp, Keep: true, MaxDownloads: 3}, "handed to the sender serving /s (pid 7); it serves it until", nil},
		{send.Refused{OfferID: id, PeerID: peer, Reason: "r"}, "sender: warning: refused peer " + peer + " for offer " + id + ": r\n", []string{"offer_id", "peer_id", "reason"}},
		{send.RateLimited{OfferID: id, PeerID: peer}, "is held back after too many failed attempts", []string{"offer_id", "peer_id"}},
		{send.Damaged{OfferID: id, Message: "chunk 3"}, "sender: error: offer " + id + ": chunk 3 is damaged in the spool", []string{"offer_id", "message"}},
		{send.Busy{OfferID: id, PeerID: peer}, "", []string{"offer_id", "peer_id"}},
		{send.Manifest{OfferID: id, PeerID: peer, StoredBytes: 10}, "sender: the receiving hospital opened offer " + id, []string{"offer_id", "peer_id"}},
		{send.Sent{OfferID: id, Bytes: 5}, "", nil},
		{send.Download{OfferID: id, PeerID: peer, Downloads: 2}, "(download 2, counted by the sender)", []string{"offer_id", "peer_id", "downloads"}},
		{send.ReceiptRefused{OfferID: id, PeerID: peer, Files: 1, Bytes: 2}, "sender: warning: refused a receipt from " + peer, []string{"offer_id", "peer_id", "files", "bytes"}},
		{send.LockedOut{OfferID: id, PeerID: peer}, "", []string{"offer_id", "peer_id"}},
		{send.Locked{OfferID: id, FailedProofs: 20}, "is LOCKED after 20 failed attempts", []string{"offer_id", "failed_proofs"}},
		{send.Receipt{OfferID: id, PeerID: peer, Files: 3, Bytes: 2048}, "sender: the receiving hospital confirmed 3 files", []string{"offer_id", "peer_id", "files", "bytes"}},
		{send.Ended{OfferID: id, State: spool.UsedUp, Downloads: 1}, "sender: offer " + id + " ended (used)", []string{"offer_id", "state", "downloads"}},
		{send.Done{OfferID: id, Receipts: 1}, "sender: delivered: offer " + id + ", 1 verified receipt(s)", []string{"offer_id", "receipts", "sent_bytes", "refused"}},
		{send.Done{OfferID: id, SentBytes: 2048}, "sender: not delivered: 2.0 KiB of encrypted data sent", []string{"offer_id", "receipts", "sent_bytes", "refused"}},
		{send.Done{OfferID: id}, "sender: not delivered: no receiver fetched the study", []string{"offer_id", "receipts", "sent_bytes", "refused"}},
		{send.Serving{Spool: "/s", PeerID: peer, LiveOffers: 2}, "sender: serving 2 live offer(s) from /s as " + peer, []string{"spool", "peer_id", "live_offers"}},
		{send.Stopped{}, "sender: stopped; offers stay in the spool", nil},
		{send.Packing{Done: 1, Total: 2}, "", nil},
	} {
		var text, js bytes.Buffer
		p := &printer{text: newTextPrinter(&text, false, false), js: console.NewJSON(&js)}
		p.event(c.e)
		if c.text == "" && text.Len() > 0 || !strings.Contains(text.String(), c.text) {
			t.Errorf("%T: printed %q, want %q", c.e, text.String(), c.text)
		}
		if c.keys == nil {
			if js.Len() > 0 {
				t.Errorf("%T: --json printed %s", c.e, js.String())
			}
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(js.Bytes(), &m); err != nil {
			t.Fatalf("%T: %v: %s", c.e, err, js.String())
		}
		if m["type"] != c.e.EventType() {
			t.Errorf("%T: type %v", c.e, m["type"])
		}
		delete(m, "type")
		var got []string
		for k := range m {
			got = append(got, k)
		}
		if !sameKeys(got, c.keys) {
			t.Errorf("%T: keys %v, want %v", c.e, got, c.keys)
		}
	}
}

// The lines of sender's own: the card, list, revoke and unlock.
func TestCommandEvents(t *testing.T) {
	for _, c := range []struct {
		e    console.Event
		typ  string
		keys []string
	}{
		{dicomdirEvent{}, "dicomdir", []string{"path", "listed", "unlisted"}},
		{problemEvent{}, "problem", []string{"path", "message"}},
		{reportConvertedEvent{}, "report_converted", []string{"path", "from"}},
		{studyEvent{}, "study", []string{"study"}},
		{cardEvent{}, "offer", []string{"offer_id", "uri", "expires", "peer_id", "addrs", "card", "uri_file", "files", "bytes", "stored_bytes", "pack_seconds", "max_downloads"}},
		{listedOffer{}, "offer", []string{"offer_id", "state", "patient_name", "patient_id", "study_uid", "study_date", "description", "created", "expires", "downloads", "max_downloads", "files", "bytes", "site"}},
		{offerChanged{done: "revoked"}, "revoked", []string{"offer_id"}},
	} {
		b, err := console.MarshalEvent(c.e)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		if m["type"] != c.typ {
			t.Errorf("%T: type %v, want %s", c.e, m["type"], c.typ)
		}
		delete(m, "type")
		var got []string
		for k := range m {
			got = append(got, k)
		}
		if !sameKeys(got, c.keys) {
			t.Errorf("%T: keys %v, want %v", c.e, got, c.keys)
		}
	}
}

func sameKeys(a, b []string) bool {
	set := func(s []string) map[string]bool {
		m := map[string]bool{}
		for _, k := range s {
			m[k] = true
		}
		return m
	}
	return reflect.DeepEqual(set(a), set(b))
}
