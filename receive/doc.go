// Package receive is the receiving session: one card's fetch, from the
// first connection to the sender to the receipt it is sent, with the
// command line (cmd/receiver) or a web page as its face.
//
// Fetch connects to the sender at every address on the card and on the
// local network (mDNS), proves the card, fetches the sealed manifest and
// reports it (a Manifest event) so that the face can show who and what the
// study is; it checks the free space of the output folder and asks
// (Options.Confirm) before any image is fetched. It then fetches the
// chunks, each verified against its BLAKE3 hash, into the study's folder
// in DIR/.incoming; a chunk damaged on the way is fetched again, at most
// maxCorrupt times. A lost connection or a sender that restarts is retried
// with backoff for Options.RetryFor, keeping what is verified; over a
// relay, the fetch goes on over a direct connection as soon as hole
// punching opens one. Each series is reported as soon as all its files are
// verified (SeriesComplete). Once the study is whole, Options.CheckArrived
// looks at it where it is (both faces call CheckArrived, which reads every
// header again against what was shown and records what was received);
// only then is the folder moved into place and the sender told that the
// study arrived.
//
// What the faces share besides the session: Local.Check refuses local
// values for the PACS that the import could not apply, Import stores a
// study in the PACS, and Classify and Explain tell the failures apart
// (the command line's exit codes, the page's plain words).
//
// The session is an explicit sequence of steps over one state (session),
// not a set of flags: connect, manifest and question (first attempt
// only), fetch what is still needed, then verify, check, commit, confirm.
// A fetch run again into the same folder resumes: only chunks not on disk
// verified already are fetched.
//
// Events are typed structs with JSON tags; Fetch delivers them one at a
// time, in order, to the function it is given. The face prints them (a
// text printer and a JSON Lines printer in cmd/receiver) and decides which
// to show; the session never writes to a terminal.
package receive
