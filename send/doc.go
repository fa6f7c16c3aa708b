// Package send is the sending session: it packs a study into the spool and
// records the offer (Pack), then delivers it (Session.Deliver): it hands
// the offer to the spool's running `sender serve`, or serves it itself on
// a libp2p host, gives out the card through a callback, and waits for the
// receiving hospital's verified receipt, the card's expiry or the caller's
// cancellation. Serve is `sender serve`: every live offer of a spool, with
// the spool's identity, until cancelled.
//
// A session reports what happens as typed events (Event), one at a time,
// in order: the command line prints them as text or as JSON Lines, and a
// web page could show them. An event's JSON is its fields; its type is
// EventType. Events never hold the card's secret or a passcode; the card
// itself goes only to the Issue callback.
//
// The session keeps nothing that decrypts the study once the card is
// given out: the spool holds ciphertext and the key that checks proofs.
package send
