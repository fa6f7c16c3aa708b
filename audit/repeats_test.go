package audit

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 13, 2, 11, 0, time.UTC)

// refusal is what the sender records when peer's stream names offer
// without a valid proof.
func refusal(peer Participant, offer int, at time.Time) Event {
	e := SecurityAlert(AlertProofRefused, testSender, peer, fmt.Sprintf("%016x", offer), "unknown offer")
	e.Time = at
	return e
}

// total is what an auditor adds up over the lines written.
func total(events []Event) int {
	n := 0
	for _, e := range events {
		n += e.Count()
	}
	return n
}

func TestRepeatsWritesTheFirstAndSummarisesTheRest(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 5000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			r := NewRepeats(time.Minute)
			var written []Event
			for i := range n {
				at := t0.Add(time.Duration(i) * time.Millisecond)
				if e := refusal(testPeer, i, at); r.Add(e, at) {
					written = append(written, e)
				}
			}
			if want := min(n, 1); len(written) != want {
				t.Fatalf("%d written at once, want %d", len(written), want)
			}
			if due := r.Due(t0.Add(time.Minute - 1)); len(due) != 0 {
				t.Fatalf("summaries before the interval ended: %v", due)
			}
			sums := r.Due(t0.Add(time.Minute))
			if n < 2 {
				if len(sums) != 0 {
					t.Fatalf("a summary of nothing: %+v", sums)
				}
				return
			}
			if len(sums) != 1 {
				t.Fatalf("%d summaries, want 1", len(sums))
			}
			s := sums[0]
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := total(append(written, s)); got != n {
				t.Errorf("the lines stand for %d events, want %d", got, n)
			}
			lastAt := t0.Add(time.Duration(n-1) * time.Millisecond)
			if s.Detail["first"] != t0.Add(time.Millisecond).Format(timeLayout) || s.Detail["last"] != lastAt.Format(timeLayout) || !s.Time.Equal(lastAt) {
				t.Errorf("first %v, last %v, time %v", s.Detail["first"], s.Detail["last"], s.Time)
			}
			if s.Participants[1].PeerID != testPeer.PeerID || s.Detail["alert"] != "proof_refused" || s.OutcomeDescription != "unknown offer" {
				t.Errorf("the summary does not say who failed how: %+v", s)
			}
			if len(s.Objects) != min(n-1, maxSummaryOffers) || s.Objects[0].ID != fmt.Sprintf("%016x", 1) {
				t.Errorf("offers %v", s.Objects)
			}
			if unlisted, _ := s.Detail["offers_not_listed"].(int); unlisted != max(0, n-1-maxSummaryOffers) {
				t.Errorf("offers_not_listed = %v", s.Detail["offers_not_listed"])
			}
		})
	}
}

func TestRepeatsStartAnewAfterTheInterval(t *testing.T) {
	r := NewRepeats(time.Minute)
	if !r.Add(refusal(testPeer, 1, t0), t0) {
		t.Fatal("the first refusal was not written")
	}
	if r.Add(refusal(testPeer, 1, t0.Add(time.Minute-1)), t0.Add(time.Minute-1)) {
		t.Fatal("a refusal within the interval was written")
	}
	if got := total(r.Due(t0.Add(time.Minute))); got != 1 {
		t.Fatalf("the summary counts %d, want 1", got)
	}
	if !r.Add(refusal(testPeer, 1, t0.Add(time.Minute)), t0.Add(time.Minute)) {
		t.Fatal("the first refusal of the next interval was not written")
	}
	if sums := r.Flush(); len(sums) != 0 {
		t.Fatalf("a summary with no repeats: %+v", sums)
	}
}

func TestRepeatsNeverHoldsSuccessesOrClinicalEvents(t *testing.T) {
	failedPACS := InstancesSent(testRecv, Participant{Address: "https://pacs.invalid"}, testSubj).WithOutcome(MinorFailure, "1 of 2 instances not stored in the PACS")
	for name, e := range map[string]Event{
		"login":               UserAuthentication(testPeer, testSender, "0a1b2c3d4e5f6071", nil),
		"revoked":             OfferRevoked(testSender, testSubj),
		"export":              Export(testSender, testSubj),
		"import":              Import(testRecv, testSender, testSubj, "/data/in"),
		"sent":                InstancesSent(testSender, testPeer, testSubj),
		"failed PACS store":   failedPACS,
		"application started": ApplicationStart(testSender),
	} {
		r := NewRepeats(time.Minute)
		for i := range 3 {
			if !r.Add(e, t0) {
				t.Errorf("%s: occurrence %d held back", name, i+1)
			}
		}
		if s := r.Flush(); len(s) != 0 {
			t.Errorf("%s: summarised: %+v", name, s)
		}
	}
}

func TestRepeatsCountKindsAndPeersApart(t *testing.T) {
	other := Participant{PeerID: "12D3KooWOther"}
	failed := errors.New("proof does not verify")
	events := []Event{
		refusal(testPeer, 1, t0),
		refusal(other, 1, t0),
		SecurityAlert(AlertRateLimited, testSender, testPeer, "", "too many failed proofs"),
		UserAuthentication(testPeer, testSender, "0a1b2c3d4e5f6071", failed),
		UserAuthentication(testPeer, testSender, "0a1b2c3d4e5f6071", errors.New("unknown offer")),
	}
	r := NewRepeats(time.Minute)
	for round := range 2 {
		for i, e := range events {
			if got := r.Add(e, t0); got != (round == 0) {
				t.Errorf("round %d, event %d: written %v", round, i, got)
			}
		}
	}
	if sums := r.Flush(); len(sums) != len(events) || total(sums) != len(events) {
		t.Errorf("%d summaries counting %d, want %d of one each", len(sums), total(sums), len(events))
	}
}

func TestRepeatsBoundAFloodFromNewPeers(t *testing.T) {
	for _, peers := range []int{MaxRepeatPeers - 1, MaxRepeatPeers, MaxRepeatPeers + 1, 5000} {
		t.Run(fmt.Sprint(peers), func(t *testing.T) {
			r := NewRepeats(time.Minute)
			var written []Event
			for i := range peers {
				for j := range 2 {
					e := refusal(Participant{PeerID: fmt.Sprintf("12D3KooWJunk%d", i)}, j, t0)
					if r.Add(e, t0) {
						written = append(written, e)
					}
				}
			}
			want := min(peers, MaxRepeatPeers)
			if peers > MaxRepeatPeers {
				want++ // the first from the other peers
			}
			if len(written) != want {
				t.Errorf("%d written at once, want %d", len(written), want)
			}
			sums := r.Flush()
			if got := total(append(written, sums...)); got != 2*peers {
				t.Errorf("the lines stand for %d events, want %d", got, 2*peers)
			}
			for _, s := range sums {
				if s.Detail["other_peers"] == true && s.Participants[1].PeerID != "" {
					t.Errorf("the summary of other peers names one: %+v", s.Participants)
				}
			}
		})
	}
}

func TestRepeatsCountWhatWasMissed(t *testing.T) {
	r := NewRepeats(time.Minute)
	e := refusal(testPeer, 1, t0)
	if !r.Add(e, t0) {
		t.Fatal("the first was not to be written")
	}
	r.Missed(e, t0)
	if got := total(r.Flush()); got != 1 {
		t.Errorf("the summary counts %d, want the missed one", got)
	}
}

func TestWriteTextShowsTheCount(t *testing.T) {
	r := NewRepeats(time.Minute)
	for i := range 5000 {
		r.Add(refusal(testPeer, i, t0.Add(time.Duration(i)*time.Millisecond)), t0)
	}
	var b bytes.Buffer
	sums := r.Flush()
	if err := WriteText(&b, sums[0]); err != nil {
		t.Fatal(err)
	}
	// As the auditor reads it back from the file.
	var read Event
	if err := parseEvent(bytes.TrimSpace(mustEncode(t, sums[0])), &read); err != nil {
		t.Fatal(err)
	}
	var fromFile bytes.Buffer
	WriteText(&fromFile, read)
	for _, out := range []string{b.String(), fromFile.String()} {
		want := fmt.Sprintf("Security Alert: Node Authentication  4999 times from %s to %s  minor failure (unknown offer)",
			t0.Add(time.Millisecond).Local().Format("2006-01-02 15:04:05"), t0.Add(4999*time.Millisecond).Local().Format("2006-01-02 15:04:05"))
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
		if strings.Contains(out, "count=") || strings.Contains(out, "first=") {
			t.Errorf("the count is printed twice:\n%s", out)
		}
		if !strings.Contains(out, "offers_not_listed=4991") {
			t.Errorf("output lacks the offers not listed:\n%s", out)
		}
	}
	if read.Count() != 4999 {
		t.Errorf("read back, Count = %d", read.Count())
	}
}

func mustEncode(t *testing.T, e Event) []byte {
	t.Helper()
	b, err := encode(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
