package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"time"
)

// Code is a coded value, as DICOM writes EV (code, scheme, "meaning").
type Code struct {
	Code    string `json:"code"`
	Scheme  string `json:"scheme"`
	Meaning string `json:"meaning"`
}

func (c Code) String() string { return fmt.Sprintf("(%s, %s, %q)", c.Code, c.Scheme, c.Meaning) }

// Coding schemes: DICOM's own, and imageshare's private one for what DICOM
// has no code for (PS3.16 section 8: designators that start with "99" are
// private).
const (
	SchemeDCM        = "DCM"
	SchemeImageshare = "99IMAGESHARE"
)

// Event IDs, PS3.16 CID 400 "Audit Event ID".
const (
	CodeApplicationActivity  = "110100"
	CodeInstancesTransferred = "110104"
	CodeExport               = "110106"
	CodeImport               = "110107"
	CodeSecurityAlert        = "110113"
	CodeUserAuthentication   = "110114"
)

var (
	eventApplicationActivity  = Code{CodeApplicationActivity, SchemeDCM, "Application Activity"}
	eventInstancesTransferred = Code{CodeInstancesTransferred, SchemeDCM, "DICOM Instances Transferred"}
	eventExport               = Code{CodeExport, SchemeDCM, "Export"}
	eventImport               = Code{CodeImport, SchemeDCM, "Import"}
	eventSecurityAlert        = Code{CodeSecurityAlert, SchemeDCM, "Security Alert"}
	eventUserAuthentication   = Code{CodeUserAuthentication, SchemeDCM, "User Authentication"}
)

// Event type codes: PS3.16 CID 401 "Audit Event Type Code" (Application
// Start, Stop, Login) and CID 403 "Security Alert Type Code", then
// imageshare's private codes for alerts that DICOM has no code for.
var (
	typeApplicationStart      = Code{"110120", SchemeDCM, "Application Start"}
	typeApplicationStop       = Code{"110121", SchemeDCM, "Application Stop"}
	typeLogin                 = Code{"110122", SchemeDCM, "Login"}
	typeNodeAuthentication    = Code{"110126", SchemeDCM, "Node Authentication"}
	typeObjectSecurityChanged = Code{"110135", SchemeDCM, "Object Security Attributes Changed"}

	typeTampered      = Code{"TAMPERED", SchemeImageshare, "Data Failed Verification"}
	typeWrongManifest = Code{"WRONG-MANIFEST", SchemeImageshare, "Manifest Does Not Match Card"}
	typeWrongContent  = Code{"WRONG-CONTENT", SchemeImageshare, "Files Do Not Match Study Shown"}
	typeRecordRefused = Code{"RECORD-REFUSED", SchemeImageshare, "Audit Record Refused"}
	typeWrongReceipt  = Code{"WRONG-RECEIPT", SchemeImageshare, "Receipt Does Not Match Offer"}

	// The card, as a medium: PS3.16 CID 405 "Media Type Code".
	mediaURI = Code{"110037", SchemeDCM, "URI"}
)

var (
	errUnknownAlert    = errors.New("security alert of unknown kind")
	errNoParticipant   = errors.New("audit event has no participant")
	errNeedsEventType  = errors.New("audit event needs an event type")
	errEmptyEventID    = errors.New("audit event has no event ID")
	errEmptyObjectType = errors.New("audit object has no type")
)

// Action is DICOM's EventActionCode.
type Action string

// Actions.
const (
	ActionCreate  Action = "C"
	ActionRead    Action = "R"
	ActionUpdate  Action = "U"
	ActionDelete  Action = "D"
	ActionExecute Action = "E"
)

// Outcome is DICOM's EventOutcomeIndicator.
type Outcome int

// Outcomes. For a Security Alert, PS3.15 A.5.3.11: success is an
// informative alert; a minor or serious failure says that mitigation was
// effective; a major failure that it may not have been.
const (
	Success        Outcome = 0
	MinorFailure   Outcome = 4
	SeriousFailure Outcome = 8
	MajorFailure   Outcome = 12
)

func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case MinorFailure:
		return "minor failure"
	case SeriousFailure:
		return "serious failure"
	case MajorFailure:
		return "major failure"
	}
	return fmt.Sprintf("outcome %d", int(o))
}

// Role is a participant's part in an event: DICOM's RoleIDCode, by name.
type Role string

// Roles.
const (
	RoleApplication      Role = "application"       // 110150 Application: the imageshare program
	RoleSource           Role = "source"            // 110153 Source Role ID: where the study comes from
	RoleDestination      Role = "destination"       // 110152 Destination Role ID: where it goes
	RoleDestinationMedia Role = "destination_media" // 110154 Destination Media: the card, on export
	RoleSourceMedia      Role = "source_media"      // 110155 Source Media: the card, on import
	RoleUser             Role = "user"              // no role code: a peer presenting the card
)

// Code returns the DICOM RoleIDCode of r (PS3.16 CID 402), if it has one.
func (r Role) Code() (Code, bool) {
	switch r {
	case RoleApplication:
		return Code{"110150", SchemeDCM, "Application"}, true
	case RoleSource:
		return Code{"110153", SchemeDCM, "Source Role ID"}, true
	case RoleDestination:
		return Code{"110152", SchemeDCM, "Destination Role ID"}, true
	case RoleDestinationMedia:
		return Code{"110154", SchemeDCM, "Destination Media"}, true
	case RoleSourceMedia:
		return Code{"110155", SchemeDCM, "Source Media"}, true
	}
	return Code{}, false
}

// Participant is one of an event's active participants: a side of the
// transfer, the program that recorded it, or the card as a medium.
type Participant struct {
	Role      Role   `json:"role"`
	Requestor bool   `json:"requestor,omitempty"` // UserIsRequestor
	Site      string `json:"site,omitempty"`      // the hospital, as given to --site
	PeerID    string `json:"peer_id,omitempty"`   // libp2p peer ID
	User      string `json:"user,omitempty"`      // the local OS user who ran the command
	Host      string `json:"host,omitempty"`
	Address   string `json:"address,omitempty"` // the network address used, a multiaddr
	Program   string `json:"program,omitempty"` // set on the participant that recorded the event
	PID       int    `json:"pid,omitempty"`
	Media     *Code  `json:"media,omitempty"` // for the media roles
}

func (p Participant) isZero() bool { return p == Participant{} }

// Local describes this process: program ("sender" or "receiver") at site,
// run by the current OS user on this host. Callers add the peer ID.
func Local(program, site string) Participant {
	p := Participant{Site: site, Program: program, PID: os.Getpid()}
	if u, err := user.Current(); err == nil {
		p.User = u.Username
	} else if name := os.Getenv("USER"); name != "" {
		p.User = name
	}
	p.Host, _ = os.Hostname()
	return p
}

// ObjectType names what an object is.
type ObjectType string

// Object types.
const (
	ObjectPatient ObjectType = "patient"
	ObjectStudy   ObjectType = "study"
	ObjectOffer   ObjectType = "offer"
)

// Object is what an event is about: DICOM's ParticipantObjectIdentification.
type Object struct {
	Type   ObjectType `json:"type"`
	ID     string     `json:"id"`
	Issuer string     `json:"issuer,omitempty"` // a patient's Issuer of Patient ID
	Name   string     `json:"name,omitempty"`   // a patient's name, DICOM PN as stored
}

// Subject is what a transfer event is about: one patient, the studies sent
// or received, and the offer (the card) they were sent under.
type Subject struct {
	PatientID       string
	PatientIDIssuer string
	PatientName     string
	StudyUIDs       []string
	OfferID         string // transfer.OfferID.String()
	Files           int    // DICOM instances and other files, 0 if not known
	Bytes           int64  // 0 if not known
}

func (s Subject) objects() []Object {
	var objs []Object
	if s.PatientID != "" || s.PatientName != "" {
		objs = append(objs, Object{Type: ObjectPatient, ID: s.PatientID, Issuer: s.PatientIDIssuer, Name: s.PatientName})
	}
	for _, uid := range s.StudyUIDs {
		objs = append(objs, Object{Type: ObjectStudy, ID: uid})
	}
	if s.OfferID != "" {
		objs = append(objs, Object{Type: ObjectOffer, ID: s.OfferID})
	}
	return objs
}

func (s Subject) detail() map[string]any {
	d := map[string]any{}
	if s.Files > 0 {
		d["files"] = s.Files
	}
	if s.Bytes > 0 {
		d["bytes"] = s.Bytes
	}
	if len(d) == 0 {
		return nil
	}
	return d
}

// Event is one audit event, one line of the trail.
type Event struct {
	Time               time.Time      `json:"time"`
	EventID            Code           `json:"event_id"`
	EventType          *Code          `json:"event_type,omitempty"`
	Action             Action         `json:"action"`
	Outcome            Outcome        `json:"outcome"`
	OutcomeDescription string         `json:"outcome_description,omitempty"`
	Participants       []Participant  `json:"participants"`
	Objects            []Object       `json:"objects,omitempty"`
	Detail             map[string]any `json:"detail,omitempty"`
}

// timeLayout has a fixed width, so that lines sort by time as text.
const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

// MarshalJSON writes the time in UTC with microseconds, fixed width.
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event
	return json.Marshal(struct {
		Time string `json:"time"`
		plain
	}{e.Time.UTC().Format(timeLayout), plain(e)})
}

// With returns e with detail key set to value. e itself is not changed.
func (e Event) With(key string, value any) Event {
	d := make(map[string]any, len(e.Detail)+1)
	for k, v := range e.Detail {
		d[k] = v
	}
	d[key] = value
	e.Detail = d
	return e
}

// WithOutcome returns e with outcome o, described by description.
func (e Event) WithOutcome(o Outcome, description string) Event {
	e.Outcome = o
	e.OutcomeDescription = description
	return e
}

// Validate reports whether e is an event that Record accepts: coded, with a
// known action and outcome, at least one participant, and no card URI.
func (e Event) Validate() error {
	_, err := encode(e)
	return err
}

func (e Event) validate() error {
	if e.EventID.Code == "" || e.EventID.Scheme == "" {
		return errEmptyEventID
	}
	switch e.Action {
	case ActionCreate, ActionRead, ActionUpdate, ActionDelete, ActionExecute:
	default:
		return fmt.Errorf("audit event has unknown action %q", string(e.Action))
	}
	switch e.Outcome {
	case Success, MinorFailure, SeriousFailure, MajorFailure:
	default:
		return fmt.Errorf("audit event has unknown outcome %d", int(e.Outcome))
	}
	// PS3.15 A.5.3.1, A.5.3.11 and A.5.3.12 make EventTypeCode mandatory.
	switch e.EventID.Code {
	case CodeApplicationActivity, CodeSecurityAlert, CodeUserAuthentication:
		if e.EventType == nil {
			if e.EventID.Code == CodeSecurityAlert {
				return errUnknownAlert
			}
			return errNeedsEventType
		}
	}
	if len(e.Participants) == 0 {
		return errNoParticipant
	}
	for i, p := range e.Participants {
		if p.Role == "" {
			return fmt.Errorf("audit participant %d has no role", i+1)
		}
	}
	for _, o := range e.Objects {
		if o.Type == "" {
			return errEmptyObjectType
		}
	}
	return nil
}

func newEvent(id Code, typ *Code, action Action, parts ...Participant) Event {
	e := Event{Time: time.Now(), EventID: id, EventType: typ, Action: action}
	for _, p := range parts {
		if !p.isZero() {
			e.Participants = append(e.Participants, p)
		}
	}
	return e
}

func withRole(p Participant, r Role, requestor bool) Participant {
	p.Role = r
	p.Requestor = requestor
	return p
}

func ptr(c Code) *Code { return &c }

// ApplicationStart records that app (usually Local) started.
func ApplicationStart(app Participant) Event {
	return newEvent(eventApplicationActivity, ptr(typeApplicationStart), ActionExecute,
		withRole(app, RoleApplication, true))
}

// ApplicationStop records that app stopped. Callers may add the exit code
// with With("exit_code", n); the stop itself succeeded whatever the code.
func ApplicationStop(app Participant) Event {
	return newEvent(eventApplicationActivity, ptr(typeApplicationStop), ActionExecute,
		withRole(app, RoleApplication, true))
}

// Export records, on the sender, that an offer was issued for s: the study
// left the site's control for whoever holds the card, a URI on a QR code.
func Export(sender Participant, s Subject) Event {
	e := newEvent(eventExport, nil, ActionRead,
		withRole(sender, RoleSource, true),
		Participant{Role: RoleDestinationMedia, Media: ptr(mediaURI)})
	e.Objects = s.objects()
	e.Detail = s.detail()
	return e
}

// Import records, on the receiver, that the study s arrived from sender and
// was verified and saved in dir.
func Import(receiver, sender Participant, s Subject, dir string) Event {
	e := newEvent(eventImport, nil, ActionCreate,
		withRole(receiver, RoleDestination, true),
		withRole(sender, RoleSource, false),
		Participant{Role: RoleSourceMedia, Media: ptr(mediaURI)})
	e.Objects = s.objects()
	e.Detail = s.detail()
	if dir != "" {
		e = e.With("dir", dir)
	}
	return e
}

// InstancesSent records, on the sender, that s.Files files (s.Bytes bytes)
// went over the network to receiver, which requested them. The action is
// Read: PS3.15 A.5.3.7 asks for it when the recorder is not the receiver.
func InstancesSent(sender, receiver Participant, s Subject) Event {
	return instancesTransferred(ActionRead, sender, receiver, s)
}

// InstancesReceived records, on the receiver, that s.Files files (s.Bytes
// bytes) came over the network from sender. The action is Create: the
// receiver writes a new folder, so it did not hold the instances before.
func InstancesReceived(sender, receiver Participant, s Subject) Event {
	return instancesTransferred(ActionCreate, sender, receiver, s)
}

func instancesTransferred(a Action, sender, receiver Participant, s Subject) Event {
	e := newEvent(eventInstancesTransferred, nil, a,
		withRole(sender, RoleSource, false),
		withRole(receiver, RoleDestination, true))
	e.Objects = s.objects()
	e.Detail = s.detail()
	return e
}

// UserAuthentication records, on the sender, that claimant presented a
// proof that it holds the card of offerID, checked by authenticator: a
// success when err is nil, a minor failure described by err otherwise.
func UserAuthentication(claimant, authenticator Participant, offerID string, err error) Event {
	e := newEvent(eventUserAuthentication, ptr(typeLogin), ActionExecute,
		withRole(claimant, RoleUser, true),
		withRole(authenticator, RoleApplication, false))
	if offerID != "" {
		e.Objects = []Object{{Type: ObjectOffer, ID: offerID}}
	}
	if err != nil {
		e = e.WithOutcome(MinorFailure, err.Error())
	}
	return e
}

// Alert is the kind of a security alert.
type Alert string

// Alerts.
const (
	// AlertProofRefused: the sender refused a peer's proof of the card.
	AlertProofRefused Alert = "proof_refused"
	// AlertRateLimited: the sender refused a peer that tried too often.
	AlertRateLimited Alert = "rate_limited"
	// AlertImpostor: the receiver reached a computer that is not the
	// sender on the card.
	AlertImpostor Alert = "impostor"
	// AlertTampered: a chunk or file failed its SHA-256 or decryption.
	AlertTampered Alert = "tampered"
	// AlertManifestMismatch: the manifest served is not the one the card
	// was made for.
	AlertManifestMismatch Alert = "manifest_mismatch"
	// AlertContentMismatch: the files received, each matching its hash,
	// are not the study the manifest showed staff (another patient, other
	// instances): a sender that lies in its manifest.
	AlertContentMismatch Alert = "content_mismatch"
	// AlertReceiptRefused: the sender refused a RECEIPT whose files or
	// bytes are not the offer's.
	AlertReceiptRefused Alert = "receipt_refused"
	// AlertOfferLocked: the sender locked an offer after too many failed
	// proofs of its card, from anyone.
	AlertOfferLocked Alert = "offer_locked"
)

type alertSpec struct {
	typ     Code
	outcome Outcome
	peer    Role // the remote participant's role
}

// alerts: refusals of a client are minor failures; an impostor or altered
// data means someone acted against the transfer, a serious failure, though
// mitigated, as nothing unverified is kept.
var alerts = map[Alert]alertSpec{
	AlertProofRefused:     {typeNodeAuthentication, MinorFailure, RoleUser},
	AlertRateLimited:      {typeNodeAuthentication, MinorFailure, RoleUser},
	AlertImpostor:         {typeNodeAuthentication, SeriousFailure, RoleSource},
	AlertTampered:         {typeTampered, SeriousFailure, RoleSource},
	AlertManifestMismatch: {typeWrongManifest, SeriousFailure, RoleSource},
	AlertContentMismatch:  {typeWrongContent, SeriousFailure, RoleSource},
	AlertReceiptRefused:   {typeWrongReceipt, MinorFailure, RoleUser},
	AlertOfferLocked:      {typeNodeAuthentication, SeriousFailure, RoleUser},
}

// SecurityAlert records an alert of kind raised by reporter (this program)
// about peer, under offerID, described by description. On the sender the
// peer is the client (role user, the requestor); on the receiver it is the
// server (role source), and the reporter is the requestor. An unknown kind
// gives an event that Record refuses.
func SecurityAlert(kind Alert, reporter, peer Participant, offerID, description string) Event {
	spec, ok := alerts[kind]
	var typ *Code
	if ok {
		typ = ptr(spec.typ)
	}
	remoteIsClient := spec.peer == RoleUser
	e := newEvent(eventSecurityAlert, typ, ActionExecute,
		withRole(reporter, RoleApplication, !remoteIsClient),
		withRole(peer, spec.peer, remoteIsClient))
	if offerID != "" {
		e.Objects = []Object{{Type: ObjectOffer, ID: offerID}}
	}
	e = e.WithOutcome(spec.outcome, description)
	return e.With("alert", string(kind))
}

// OfferRevoked records, on the sender, that who revoked the offer of s:
// the card no longer opens the study. An informative Security Alert.
func OfferRevoked(who Participant, s Subject) Event {
	e := newEvent(eventSecurityAlert, ptr(typeObjectSecurityChanged), ActionExecute,
		withRole(who, RoleApplication, true))
	e.Objects = s.objects()
	return e.With("alert", "offer_revoked")
}

// OfferUnlocked records, on the sender, that who unlocked the offer of s
// after it was locked by failed proofs: its card works again.
func OfferUnlocked(who Participant, s Subject) Event {
	e := newEvent(eventSecurityAlert, ptr(typeObjectSecurityChanged), ActionExecute,
		withRole(who, RoleApplication, true))
	e.Objects = s.objects()
	return e.With("alert", "offer_unlocked")
}

// recordRefused is what Record writes in place of e when e carried a card
// URI: that an event was refused, by whom, and nothing of its content.
func recordRefused(e Event) Event {
	r := Event{
		Time:               e.Time,
		EventID:            eventSecurityAlert,
		EventType:          ptr(typeRecordRefused),
		Action:             ActionExecute,
		Outcome:            SeriousFailure,
		OutcomeDescription: "an audit event was refused because it contained an imageshare card URI",
		Detail:             map[string]any{"refused_event_id": e.EventID.Code},
	}
	if b, err := json.Marshal(e.EventID.Code); err != nil || hasCardURI(b) {
		r.Detail = nil
	}
	for _, p := range e.Participants {
		if b, err := json.Marshal(p); err == nil && !hasCardURI(b) {
			r.Participants = append(r.Participants, p)
		}
	}
	if len(r.Participants) == 0 {
		r.Participants = []Participant{{Role: RoleApplication}}
	}
	return r
}

// Count returns how many events the line e stands for: 1, or, for a
// summary of repeated failures, its "count" detail.
func (e Event) Count() int {
	if !e.isSummary() {
		return 1
	}
	switch n := e.Detail["count"].(type) {
	case int:
		return n
	case float64: // as read back from JSON
		return int(n)
	}
	return 1
}
