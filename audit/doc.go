// Package audit is the audit trail that a hospital's privacy officer reads:
// who sent or received which patient's study, when, to or from where, and
// every refused or suspicious attempt. The sender and the receiver each
// append to one; `sender audit` and `receiver audit` print it.
//
// # The file
//
// JSON Lines, one event a line, appended and never rewritten. A line is
// written with one write(2) on a file opened O_APPEND, under an exclusive
// lock (flock(2), LockFileEx on Windows: package filelock), and fsynced,
// so that several goroutines and several processes can append to one file
// without their lines interleaving, even on NFS. The file is created 0600
// in a folder created 0700 (on Windows, with an access list that grants
// only its owner, SYSTEM and Administrators: package private). Read tolerates a last
// line torn by a crash, and Open ends such a line before it appends, so that
// one crash costs one event.
//
// A command writes through a Trail (OpenTrail), which writes in the
// background so that a libp2p callback never waits for a disk sync, and
// folds a peer's repeated failures into one summary a minute (Repeats).
// PrintTrail prints a trail for `sender audit` and `receiver audit`.
//
// # The event
//
// An event mirrors the DICOM audit message of PS3.15 A.5.1 (itself from
// RFC 3881), with readable names and kept flat enough to grep:
//
//	{"time":"2026-03-01T13:02:11.123456Z",               EventDateTime, UTC
//	 "event_id":{"code":"110106","scheme":"DCM","meaning":"Export"},   EventID
//	 "event_type":{…},                                    EventTypeCode, where the message has one
//	 "action":"R",                                        EventActionCode: C R U D E
//	 "outcome":0,                                         EventOutcomeIndicator: 0 4 8 12
//	 "outcome_description":"…",                           EventOutcomeDescription
//	 "participants":[{"role":"source","requestor":true,   ActiveParticipant: RoleIDCode, UserIsRequestor
//	   "site":"St Elsewhere ED","peer_id":"12D3KooW…",   site; UserID of a libp2p node
//	   "user":"alice","host":"ed-ws1",                    UserName (the local OS user)
//	   "address":"/ip4/…","program":"sender","pid":4242}, NetworkAccessPointID; AlternativeUserID
//	   {"role":"destination_media","media":{"code":"110037","scheme":"DCM","meaning":"URI"}}],
//	 "objects":[{"type":"patient","id":"12345","issuer":"STE","name":"DOE^JANE"},
//	   {"type":"study","id":"1.2.840…"},{"type":"offer","id":"0a1b2c3d4e5f6071"}],
//	 "detail":{"files":134,"bytes":70254592,"path":"direct"}}
//
// A Participant merges what DICOM splits into a person and a process: the
// local OS user who ran the command (user) and the imageshare process
// (program, pid, host, and the libp2p peer ID). The participant that has
// program set is the one that wrote the event, DICOM's audit source.
//
// Objects are DICOM's ParticipantObjectIdentification:
//
//	patient  type 1 person, role 1 patient, ID type (2, RFC-3881, "Patient Number");
//	         id is the Patient ID, issuer its Issuer of Patient ID, and name the
//	         patient's name, which PS3.15 allows in ParticipantObjectName (U)
//	study    type 2 system, role 3 report, ID type (110180, DCM, "Study Instance UID")
//	offer    imageshare's offer ID, which names the card (not secret)
//
// # The events imageshare records
//
// The constructors fill in the codes, so that callers cannot get them wrong:
//
//	ApplicationStart      110100 Application Activity / 110120 Application Start   E  A.5.3.1
//	ApplicationStop       110100 Application Activity / 110121 Application Stop    E  A.5.3.1
//	Export                110106 Export: an offer was issued, its card printed     R  A.5.3.4
//	Import                110107 Import: a study was received and verified         C  A.5.3.5
//	InstancesSent         110104 DICOM Instances Transferred, by the sender         R  A.5.3.7
//	InstancesReceived     110104 DICOM Instances Transferred, by the receiver       C  A.5.3.7
//	UserAuthentication    110114 User Authentication / 110122 Login: a peer's proof E  A.5.3.12
//	SecurityAlert         110113 Security Alert / 110126 Node Authentication, or a
//	                      private 99IMAGESHARE code where DICOM has none           E  A.5.3.11
//	OfferRevoked          110113 Security Alert / 110135 Object Security
//	                      Attributes Changed, informative (outcome 0)              E  A.5.3.11
//	OfferUnlocked         the same, for an offer unlocked after failed proofs      E  A.5.3.11
//
// # What never enters the trail
//
// The card's secret and a passcode: no constructor takes either. As a last
// line of defence Record refuses, with ErrCardURI, any event that carries
// something that looks like a card URI ("IMAGESHARE:V1:…", in any case,
// JSON-escaped or percent-encoded), and records in its place a Security
// Alert that says an event was refused, without its content.
package audit
