// Package discovery starts the libp2p hosts of senders and receivers,
// chooses which of a sender's addresses go on the card, and connects a
// receiver to the peer the card names.
//
// A sender listens on TCP and QUIC, by default on port DefaultPort of every
// interface. The card lists its addresses, routable ones first and loopback
// last, at most card.MaxAddrs of them. A receiver dials them all at once
// (libp2p's dialer ranks and races them) and the security handshake checks
// that the peer answering is the peer on the card.
package discovery
