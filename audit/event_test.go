package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	testSender = Participant{Site: "St Elsewhere ED", PeerID: "12D3KooWSender", User: "alice", Host: "ed-ws1", Program: "sender", PID: 41}
	testPeer   = Participant{PeerID: "12D3KooWReceiver", Address: "/ip4/192.0.2.7/udp/7471/quic-v1"}
	testRecv   = Participant{Site: "Trauma Center", PeerID: "12D3KooWReceiver", User: "bob", Host: "tc-ws9", Program: "receiver", PID: 42}
	testSubj   = Subject{
		PatientID: "12345", PatientIDIssuer: "STE", PatientName: "DOE^JANE",
		StudyUIDs: []string{"1.2.840.113619.2.55.3"}, OfferID: "0a1b2c3d4e5f6071",
		Files: 134, Bytes: 70254592,
	}
)

func TestConstructors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		e         Event
		id        string
		meaning   string
		typ       string // "" for none
		typeMean  string
		action    Action
		outcome   Outcome
		roles     []Role
		requestor Role
		objects   []ObjectType
	}{
		{"ApplicationStart", ApplicationStart(testSender), "110100", "Application Activity", "110120", "Application Start",
			ActionExecute, Success, []Role{RoleApplication}, RoleApplication, nil},
		{"ApplicationStop", ApplicationStop(testSender), "110100", "Application Activity", "110121", "Application Stop",
			ActionExecute, Success, []Role{RoleApplication}, RoleApplication, nil},
		{"Export", Export(testSender, testSubj), "110106", "Export", "", "",
			ActionRead, Success, []Role{RoleSource, RoleDestinationMedia}, RoleSource,
			[]ObjectType{ObjectPatient, ObjectStudy, ObjectOffer}},
		{"Import", Import(testRecv, testSender, testSubj, "/data/incoming/study-x"), "110107", "Import", "", "",
			ActionCreate, Success, []Role{RoleDestination, RoleSource, RoleSourceMedia}, RoleDestination,
			[]ObjectType{ObjectPatient, ObjectStudy, ObjectOffer}},
		{"InstancesSent", InstancesSent(testSender, testPeer, testSubj), "110104", "DICOM Instances Transferred", "", "",
			ActionRead, Success, []Role{RoleSource, RoleDestination}, RoleDestination,
			[]ObjectType{ObjectPatient, ObjectStudy, ObjectOffer}},
		{"InstancesReceived", InstancesReceived(testSender, testRecv, testSubj), "110104", "DICOM Instances Transferred", "", "",
			ActionCreate, Success, []Role{RoleSource, RoleDestination}, RoleDestination,
			[]ObjectType{ObjectPatient, ObjectStudy, ObjectOffer}},
		{"UserAuthentication ok", UserAuthentication(testPeer, testSender, "0a1b2c3d4e5f6071", nil), "110114", "User Authentication", "110122", "Login",
			ActionExecute, Success, []Role{RoleUser, RoleApplication}, RoleUser, []ObjectType{ObjectOffer}},
		{"UserAuthentication failed", UserAuthentication(testPeer, testSender, "0a1b2c3d4e5f6071", errors.New("proof does not verify")), "110114", "User Authentication", "110122", "Login",
			ActionExecute, MinorFailure, []Role{RoleUser, RoleApplication}, RoleUser, []ObjectType{ObjectOffer}},
		{"SecurityAlert proof", SecurityAlert(AlertProofRefused, testSender, testPeer, "0a1b2c3d4e5f6071", "no proof"), "110113", "Security Alert", "110126", "Node Authentication",
			ActionExecute, MinorFailure, []Role{RoleApplication, RoleUser}, RoleUser, []ObjectType{ObjectOffer}},
		{"SecurityAlert rate", SecurityAlert(AlertRateLimited, testSender, testPeer, "", "too many attempts"), "110113", "Security Alert", "110126", "Node Authentication",
			ActionExecute, MinorFailure, []Role{RoleApplication, RoleUser}, RoleUser, nil},
		{"SecurityAlert impostor", SecurityAlert(AlertImpostor, testRecv, testPeer, "0a1b2c3d4e5f6071", "a different computer answered"), "110113", "Security Alert", "110126", "Node Authentication",
			ActionExecute, SeriousFailure, []Role{RoleApplication, RoleSource}, RoleApplication, []ObjectType{ObjectOffer}},
		{"SecurityAlert tampered", SecurityAlert(AlertTampered, testRecv, testPeer, "0a1b2c3d4e5f6071", "chunk 7 failed SHA-256"), "110113", "Security Alert", "TAMPERED", "Data Failed Verification",
			ActionExecute, SeriousFailure, []Role{RoleApplication, RoleSource}, RoleApplication, []ObjectType{ObjectOffer}},
		{"SecurityAlert manifest", SecurityAlert(AlertManifestMismatch, testRecv, testPeer, "0a1b2c3d4e5f6071", "manifest hash differs"), "110113", "Security Alert", "WRONG-MANIFEST", "Manifest Does Not Match Card",
			ActionExecute, SeriousFailure, []Role{RoleApplication, RoleSource}, RoleApplication, []ObjectType{ObjectOffer}},
		{"SecurityAlert content", SecurityAlert(AlertContentMismatch, testRecv, testPeer, "0a1b2c3d4e5f6071", "the files differ in Patient ID (0010,0020)"), "110113", "Security Alert", "WRONG-CONTENT", "Files Do Not Match Study Shown",
			ActionExecute, SeriousFailure, []Role{RoleApplication, RoleSource}, RoleApplication, []ObjectType{ObjectOffer}},
		{"OfferRevoked", OfferRevoked(testSender, testSubj), "110113", "Security Alert", "110135", "Object Security Attributes Changed",
			ActionExecute, Success, []Role{RoleApplication}, RoleApplication, []ObjectType{ObjectPatient, ObjectStudy, ObjectOffer}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.e
			if err := e.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if e.Time.IsZero() {
				t.Error("no time")
			}
			if e.EventID != (Code{tc.id, "DCM", tc.meaning}) {
				t.Errorf("event ID = %v, want (%s, DCM, %q)", e.EventID, tc.id, tc.meaning)
			}
			switch {
			case tc.typ == "" && e.EventType != nil:
				t.Errorf("event type = %v, want none", *e.EventType)
			case tc.typ != "" && e.EventType == nil:
				t.Errorf("no event type, want %s", tc.typ)
			case tc.typ != "":
				want := Code{tc.typ, SchemeDCM, tc.typeMean}
				if !strings.HasPrefix(tc.typ, "110") {
					want.Scheme = SchemeImageshare
				}
				if *e.EventType != want {
					t.Errorf("event type = %v, want %v", *e.EventType, want)
				}
			}
			if e.Action != tc.action {
				t.Errorf("action = %q, want %q", e.Action, tc.action)
			}
			if e.Outcome != tc.outcome {
				t.Errorf("outcome = %v, want %v", e.Outcome, tc.outcome)
			}
			if tc.outcome != Success && e.OutcomeDescription == "" {
				t.Error("a failure without a description")
			}
			var roles []Role
			var requestors []Role
			for _, p := range e.Participants {
				roles = append(roles, p.Role)
				if p.Requestor {
					requestors = append(requestors, p.Role)
				}
			}
			if !slices.Equal(roles, tc.roles) {
				t.Errorf("roles = %v, want %v", roles, tc.roles)
			}
			// PS3.15: a single participant is the requestor.
			if !slices.Equal(requestors, []Role{tc.requestor}) {
				t.Errorf("requestors = %v, want %v", requestors, tc.requestor)
			}
			var objs []ObjectType
			for _, o := range e.Objects {
				objs = append(objs, o.Type)
			}
			if !slices.Equal(objs, tc.objects) {
				t.Errorf("objects = %v, want %v", objs, tc.objects)
			}
		})
	}
}

func TestSubjectObjectsAndDetail(t *testing.T) {
	e := Import(testRecv, testSender, testSubj, "/data/incoming/study-x")
	want := []Object{
		{Type: ObjectPatient, ID: "12345", Issuer: "STE", Name: "DOE^JANE"},
		{Type: ObjectStudy, ID: "1.2.840.113619.2.55.3"},
		{Type: ObjectOffer, ID: "0a1b2c3d4e5f6071"},
	}
	if !slices.Equal(e.Objects, want) {
		t.Errorf("objects = %+v, want %+v", e.Objects, want)
	}
	if e.Detail["files"] != 134 || e.Detail["bytes"] != int64(70254592) || e.Detail["dir"] != "/data/incoming/study-x" {
		t.Errorf("detail = %v", e.Detail)
	}
	for _, p := range e.Participants {
		if (p.Role == RoleSourceMedia) != (p.Media != nil) {
			t.Errorf("participant %s: media %v", p.Role, p.Media)
		}
		if p.Media != nil && *p.Media != (Code{"110037", "DCM", "URI"}) {
			t.Errorf("media = %v", *p.Media)
		}
	}
	if Export(testSender, Subject{}).Objects != nil {
		t.Error("an empty subject gave objects")
	}
}

func TestWithDoesNotShareDetail(t *testing.T) {
	a := Export(testSender, testSubj)
	b := a.With("path", "direct")
	if _, ok := a.Detail["path"]; ok {
		t.Error("With changed the original event's detail")
	}
	if b.Detail["path"] != "direct" || b.Detail["files"] != 134 {
		t.Errorf("detail = %v", b.Detail)
	}
}

func TestRoleCodes(t *testing.T) {
	for r, want := range map[Role]string{
		RoleApplication: "110150", RoleDestination: "110152", RoleSource: "110153",
		RoleDestinationMedia: "110154", RoleSourceMedia: "110155",
	} {
		c, ok := r.Code()
		if !ok || c.Code != want || c.Scheme != SchemeDCM {
			t.Errorf("%s.Code() = %v, %v; want %s", r, c, ok, want)
		}
	}
	if _, ok := RoleUser.Code(); ok {
		t.Error("RoleUser has a code")
	}
}

func TestValidateRefuses(t *testing.T) {
	good := Export(testSender, testSubj)
	for name, e := range map[string]Event{
		"no event ID":     {Action: ActionRead, Participants: good.Participants},
		"unknown action":  func() Event { e := good; e.Action = "X"; return e }(),
		"unknown outcome": good.WithOutcome(3, "three"),
		"no participants": func() Event { e := good; e.Participants = nil; return e }(),
		"no role":         func() Event { e := good; e.Participants = []Participant{{User: "alice"}}; return e }(),
		"unknown alert":   SecurityAlert("fire", testSender, testPeer, "", "smoke"),
		"start with no type": func() Event {
			e := ApplicationStart(testSender)
			e.EventType = nil
			return e
		}(),
		"object with no type": func() Event { e := good; e.Objects = []Object{{ID: "x"}}; return e }(),
	} {
		if err := e.Validate(); err == nil {
			t.Errorf("%s: Validate accepted it", name)
		}
	}
}

// cardURI is shaped like a card URI; it is not a real card.
const cardURI = "IMAGESHARE:V1:AEBAGBAFAYDQQCIKBMGA2DQPCAIREEYUCULBOGAZDINRYHI6D4QA"

// carriesCard puts a card URI into a valid event in every place it could go.
func carriesCard() map[string]Event {
	base := InstancesSent(testSender, testPeer, testSubj)
	return map[string]Event{
		"outcome description": base.WithOutcome(MinorFailure, "bad card "+cardURI),
		"participant address": func() Event {
			e := base
			e.Participants = slices.Clone(e.Participants)
			e.Participants[1].Address = strings.ToLower(cardURI)
			return e
		}(),
		"object id": func() Event {
			e := base
			e.Objects = append(slices.Clone(e.Objects), Object{Type: ObjectOffer, ID: cardURI})
			return e
		}(),
		"patient name":  Export(testSender, Subject{PatientID: "1", PatientName: "DOE^" + cardURI}),
		"nested detail": base.With("errors", []any{"ok", map[string]any{"card": "scan: " + cardURI}}),
		"detail key":    base.With(cardURI, true),
		"escaped in raw JSON": base.With("raw",
			json.RawMessage(`"\u0049MAGESHARE\u003aV1:AEBAGBAFAYDQ"`)),
		"percent-encoded": base.With("url", "https://x.invalid/?c=imageshare%3Av1%3AAEBAGBAF"),
		"another version": base.With("card", "IMAGESHARE:V27:AEBAGBAF"),
		"mixed case":      base.With("card", "ImageShare:v1:aebagbaf"),
	}
}

func TestValidateRefusesCardURIAnywhere(t *testing.T) {
	for name, e := range carriesCard() {
		if err := e.Validate(); !errors.Is(err, ErrCardURI) {
			t.Errorf("%s: Validate = %v, want ErrCardURI", name, err)
		}
	}
}

func TestLookalikesAreNotCards(t *testing.T) {
	base := InstancesSent(testSender, testPeer, testSubj)
	for _, s := range []string{
		"imageshare", "IMAGESHARE:", "IMAGESHARE:V", "imageshare:version 2",
		"IMAGESHARE:V1", "imageshare:v1x:", "the imageshare card was refused",
	} {
		if err := base.With("text", s).Validate(); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func TestRecordRefusesCardURI(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cases := carriesCard()
	for name, e := range cases {
		if err := l.Record(e); !errors.Is(err, ErrCardURI) {
			t.Errorf("%s: Record = %v, want ErrCardURI", name, err)
		} else if strings.Contains(strings.ToLower(err.Error()), "imageshare:v") {
			t.Errorf("%s: the error quotes the card: %v", name, err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if hasCardURI(b) || bytes.Contains(bytes.ToLower(b), []byte("aebagbaf")) {
		t.Fatalf("the trail holds a card:\n%s", b)
	}
	// Each refusal left a Security Alert in its place, with the sender.
	var n int
	err = Read(bytes.NewReader(b), func(e Event) error {
		n++
		if e.EventID.Code != CodeSecurityAlert || e.EventType == nil || e.EventType.Code != "RECORD-REFUSED" {
			t.Errorf("in place of a refused event: %+v", e)
		}
		if e.Outcome != SeriousFailure || e.Detail["refused_event_id"] != CodeInstancesTransferred && e.Detail["refused_event_id"] != CodeExport {
			t.Errorf("outcome %v, detail %v", e.Outcome, e.Detail)
		}
		if !slices.ContainsFunc(e.Participants, func(p Participant) bool { return p.Program == "sender" }) {
			t.Errorf("the refusal does not name the sender: %+v", e.Participants)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(cases) {
		t.Errorf("%d refusals recorded, want %d", n, len(cases))
	}
}

func TestWriteTextIsOneLine(t *testing.T) {
	e := Import(testRecv, testSender, Subject{
		PatientID:   "12345\r\n2026-01-01 00:00:00 +0000  Export  success",
		PatientName: "DOE^JANE\n\x1b[31mEVIL\u202egpj.exe\u2028",
		StudyUIDs:   []string{"1.2.3"},
		OfferID:     "0a1b2c3d4e5f6071",
		Files:       2,
	}, "/data/in\ncoming").WithOutcome(MinorFailure, "one file\tfailed")
	e.Time = time.Date(2026, 3, 1, 13, 2, 11, 0, time.UTC)
	var b bytes.Buffer
	if err := WriteText(&b, e); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Fatalf("not one line: %q", out)
	}
	for _, bad := range []string{"\r", "\x1b", "\u202e", "\u2028", "\t"} {
		if strings.Contains(out, bad) {
			t.Errorf("output holds %q: %q", bad, out)
		}
	}
	for _, want := range []string{"Import", "minor failure", "files=2", `\x1b[31mEVIL`, "offer 0a1b2c3d4e5f6071", "bob@tc-ws9"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q: %s", want, out)
		}
	}
}

func TestWriteText(t *testing.T) {
	e := SecurityAlert(AlertImpostor, testRecv, testPeer, "0a1b2c3d4e5f6071", "a different computer answered")
	e.Time = time.Date(2026, 3, 1, 13, 2, 11, 0, time.UTC)
	var b bytes.Buffer
	WriteText(&b, e)
	out := b.String()
	for _, want := range []string{
		e.Time.Local().Format("2006-01-02 15:04:05"),
		"Security Alert: Node Authentication",
		"serious failure (a different computer answered)",
		"application* bob@tc-ws9, receiver, Trauma Center, peer 12D3KooWReceiver",
		"source peer 12D3KooWReceiver, at /ip4/192.0.2.7/udp/7471/quic-v1",
		"offer 0a1b2c3d4e5f6071",
		"alert=impostor",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
