// Package streampeer adapts a libp2p stream to the transfer protocol: the
// protocol knows its peer as a transfer.Peer (names and an address to
// rate-limit by), never as a libp2p type, so that it runs over net.Pipe in
// its tests. This is the edge where the two meet, until the send session
// has a package of its own to keep it.
package streampeer

import (
	"github.com/libp2p/go-libp2p/core/network"
	manet "github.com/multiformats/go-multiaddr/net"

	"imageshare/discovery"
	"imageshare/transfer"
)

// Of describes the two ends of a stream's connection for the
// transfer server: the peer IDs that libp2p authenticated, and the remote
// IP address, by which failed proofs are rate-limited (the peer ID, for a
// peer that comes through a relay). A proof on the stream keeps its
// connection open past transfer.HelloTimeout.
func Of(s network.Stream) transfer.Peer {
	c := s.Conn()
	host := c.RemoteMultiaddr().String()
	if ip, err := manet.ToIP(c.RemoteMultiaddr()); err == nil {
		host = ip.String()
	}
	if discovery.IsRelayedConn(c) {
		// The address is the relay's, shared by everyone it relays: such
		// peers are told apart by peer ID.
		host = "relayed:" + c.RemotePeer().String()
	}
	return transfer.Peer{
		Local:  string(c.LocalPeer()),
		Remote: string(c.RemotePeer()),
		Name:   c.RemotePeer().String(),
		Host:   host,
		Proved: func() { discovery.MarkProved(c) },
	}
}
