package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"imageshare/console"
	"imageshare/discovery"
	"imageshare/internal/cli"
)

type relayOptions struct {
	identity string
	listen   []listenAddr
	limits   limits
	json     bool
}

// parseFlagError turns a flag package error into a usage error.
func parseFlagError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return errHelp
	}
	return &usageError{cli.FlagMessage(err)}
}

func parseRelay(args []string) (*relayOptions, error) {
	o := &relayOptions{}
	var listen cli.StringList
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.identity, "identity", "", "")
	fs.Var(&listen, "listen", "")
	fs.IntVar(&o.limits.maxReservations, "max-reservations", defaultMaxReservations, "")
	fs.IntVar(&o.limits.maxReservationsPerIP, "max-reservations-per-ip", defaultMaxReservationsPerIP, "")
	fs.IntVar(&o.limits.maxCircuits, "max-circuits", defaultMaxCircuits, "")
	fs.IntVar(&o.limits.bufferSize, "buffer", defaultBufferSize, "")
	fs.DurationVar(&o.limits.reservationTTL, "reservation-ttl", defaultReservationTTL, "")
	fs.BoolVar(&o.json, "json", false, "")
	if err := fs.Parse(args); err != nil {
		return nil, parseFlagError(err)
	}
	if fs.NArg() > 0 {
		return nil, &usageError{fmt.Sprintf("relay takes no arguments, but was given %q", fs.Arg(0))}
	}
	for _, c := range []struct {
		name string
		v    int
	}{
		{"--max-reservations", o.limits.maxReservations},
		{"--max-reservations-per-ip", o.limits.maxReservationsPerIP},
		{"--max-circuits", o.limits.maxCircuits},
	} {
		if c.v < 1 {
			return nil, &usageError{fmt.Sprintf("%s %d: must be at least 1", c.name, c.v)}
		}
	}
	if b := o.limits.bufferSize; b < minBufferSize || b > maxBufferSize {
		return nil, &usageError{fmt.Sprintf("--buffer %d: must be from %d to %d bytes", b, minBufferSize, maxBufferSize)}
	}
	if ttl := o.limits.reservationTTL; ttl < minReservationTTL {
		return nil, &usageError{fmt.Sprintf("--reservation-ttl %v: must be at least %v", ttl, minReservationTTL)}
	}
	for _, s := range listen {
		a, err := parseListen(s)
		if err != nil {
			return nil, &usageError{err.Error()}
		}
		o.listen = append(o.listen, listenAddr{addr: a})
	}
	if len(o.listen) == 0 {
		o.listen = defaultListen()
	}
	if o.identity == "" {
		if o.identity = defaultIdentityPath(); o.identity == "" {
			return nil, &usageError{"no home folder to keep the relay's identity in: give --identity FILE"}
		}
	}
	return o, nil
}

// runRelay is the relay itself: it serves until ctx ends.
func runRelay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseRelay(args)
	if err != nil {
		return err
	}
	key, created, err := discovery.LoadIdentity(o.identity)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stderr, "relay: made a new identity in %s; keep it, and back it up\n", o.identity)
	}
	// Events go to stderr as text, or to stdout as JSON Lines.
	var js *console.JSON
	text := stderr
	if o.json {
		js, text = console.NewJSON(stdout), nil
	}
	ev := newEvents(text, js)
	warn := func(msg string) { fmt.Fprintf(stderr, "relay: warning: %s\n", msg) }
	srv, err := startServer(key, o.listen, o.limits, ev, warn)
	if err != nil {
		return err
	}

	addrs := srv.senderAddrs()
	var list []string
	public := false
	for _, a := range addrs {
		list = append(list, a.String())
		public = public || manet.IsPublicAddr(a)
		fmt.Fprintf(stderr, "relay: address for senders: %s\n", a)
	}
	if !public {
		port := fmt.Sprint(defaultPort)
		for _, a := range addrs {
			if p, err := a.ValueForProtocol(ma.P_TCP); err == nil {
				port = p
				break
			}
		}
		fmt.Fprintf(stderr, "hint: these addresses are not public; if senders reach the relay by a public name or a forwarded port, give them that, e.g. /dns4/relay.example.org/tcp/%s/p2p/%s\n", port, srv.host.ID())
	}
	fmt.Fprintf(stderr, "relay: serving as %s; limits: %d reservations, %d per IP address, %d relayed connections per peer, %d-byte buffers, reservations last %s\n",
		srv.host.ID(), o.limits.maxReservations, o.limits.maxReservationsPerIP, o.limits.maxCircuits, o.limits.bufferSize, shortDuration(o.limits.reservationTTL))
	js.Emit(Ready{PeerID: srv.host.ID().String(), Addrs: list})

	<-ctx.Done()
	err = srv.close()
	js.Emit(Stopped{BytesRelayed: ev.bytes.Load()})
	fmt.Fprintf(stderr, "relay: stopped after relaying %s\n", formatBytes(ev.bytes.Load()))
	// The end of ctx (SIGTERM, or Ctrl-C) is a request to stop, not a
	// failure: a service stopped cleanly exits 0.
	if err != nil {
		return fmt.Errorf("stopping: %w", err)
	}
	return nil
}
