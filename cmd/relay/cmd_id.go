package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/libp2p/go-libp2p/core/peer"

	"imageshare/console"
	"imageshare/discovery"
)

// runID is `relay id`: it prints the relay's peer ID, making its identity
// if need be.
func runID(args []string, stdout, stderr io.Writer) error {
	var identity string
	var asJSON bool
	fs := flag.NewFlagSet("relay id", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&identity, "identity", "", "")
	fs.BoolVar(&asJSON, "json", false, "")
	if err := fs.Parse(args); err != nil {
		return parseFlagError(err)
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("relay id takes no arguments, but was given %q", fs.Arg(0))}
	}
	if identity == "" {
		if identity = defaultIdentityPath(); identity == "" {
			return &usageError{"no home folder to keep the relay's identity in: give --identity FILE"}
		}
	}
	key, created, err := discovery.LoadIdentity(identity)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stderr, "relay: made a new identity in %s; keep it, and back it up\n", identity)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return fmt.Errorf("deriving the peer ID: %w", err)
	}
	if asJSON {
		console.NewJSON(stdout).Emit(ID{PeerID: id.String(), Identity: identity})
		return nil
	}
	fmt.Fprintln(stdout, id)
	return nil
}
