// Package dimse speaks the DICOM network protocol: the upper layer of PS3.8
// (associations over TCP) and the DIMSE messages of PS3.7 that run over it:
// C-ECHO and C-STORE as a service class user (Dialer, Assoc) and as a
// service class provider (Server); C-FIND, C-MOVE, C-GET and C-CANCEL as a
// user.
//
// Every protocol data unit (PDU) has a six-byte header:
//
//	type     uint8    01 A-ASSOCIATE-RQ, 02 -AC, 03 -RJ, 04 P-DATA-TF,
//	                  05 A-RELEASE-RQ, 06 A-RELEASE-RP, 07 A-ABORT
//	reserved uint8
//	length   uint32   big endian: the bytes that follow
//
// A-ASSOCIATE-RQ and -AC carry a fixed part and items:
//
//	protocol version uint16 (1), reserved uint16,
//	called AE [16]byte, calling AE [16]byte (space padded), reserved [32]byte
//	items: type uint8, reserved uint8, length uint16, value
//	  10 application context name (1.2.840.10008.3.1.1.1)
//	  20 presentation context (RQ): id, 3 reserved, 30 abstract syntax, 40 transfer syntax…
//	  21 presentation context (AC): id, reserved, result, reserved, 40 transfer syntax
//	  50 user information: 51 maximum length uint32, 52 implementation class UID,
//	     54 role selection (uid length uint16, SOP class UID, SCU uint8, SCP uint8),
//	     55 implementation version name; other sub-items are skipped
//
// P-DATA-TF carries presentation data values (PDVs), each
//
//	length uint32, context id uint8, control uint8 (bit 0 command, bit 1 last), fragment
//
// A DIMSE message is a command set (implicit VR little endian, group 0000,
// led by its group length) in command PDVs, then, if the command says so, a
// data set in data PDVs of the same presentation context, in the context's
// transfer syntax. Data sets are streamed: a PDU at a time, never whole.
//
// Every length read from the wire is checked against what holds it and
// against a cap: a P-DATA-TF beyond the maximum length this side announced,
// any PDU beyond HardMaxPDU, a command set beyond MaxCommandSet. A peer that
// breaks the protocol gets an A-ABORT; the server goes on serving others.
//
// As SCU: Dial (or a Dialer) requests an association; Assoc.Echo,
// Assoc.Store and Assoc.StoreFile send requests and wait for their
// responses, one at a time; StoreContexts proposes a set of files in their
// own transfer syntaxes. As SCP: a Server accepts the callers of its
// allow-list, the contexts of its Policy, answers C-ECHO, and hands C-STORE
// data sets to a StoreHandler such as FileStore; it reports what happens as
// Events.
//
// Query/retrieve, as SCU only, in the Study Root model: Assoc.Find sends a
// C-FIND at STUDY, SERIES or IMAGE level and returns the identifiers of the
// pending responses as Matches; Assoc.Move asks the peer to C-STORE a study
// or series to an AE title (a Server's) on associations of its own;
// Assoc.Get has it C-STORE them back on the same association, to a
// StoreHandler, for which the Dialer proposes the SCP role (GetContexts).
// Pending C-MOVE and C-GET responses are RetrieveProgress; a final status
// other than success is a RetrieveError. A cancelled context sends a
// C-CANCEL-RQ. docs/CONFORMANCE.md is the conformance statement.
package dimse
