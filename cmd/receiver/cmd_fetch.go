package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"

	"imageshare/card"
	"imageshare/console"
	icrypto "imageshare/crypto"
	"imageshare/discovery"
	"imageshare/study"
	"imageshare/transfer"
)

type fetchOptions struct {
	out, qr, uriFile string
	yes, json, quiet bool
	stdin            bool
	timeout          time.Duration
}

func newFlags(name string, o *fetchOptions) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.out, "out", "", "")
	fs.BoolVar(&o.yes, "yes", false, "")
	fs.BoolVar(&o.yes, "y", false, "")
	fs.BoolVar(&o.json, "json", false, "")
	fs.BoolVar(&o.quiet, "quiet", false, "")
	fs.BoolVar(&o.quiet, "q", false, "")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "")
	return fs
}

// parseInterleaved parses flags before, between and after positional
// arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func parseCommon(fs *flag.FlagSet, args []string) ([]string, error) {
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil, errHelp
	}
	if err != nil {
		return nil, &usageError{err.Error()}
	}
	return pos, nil
}

func runFetch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o := &fetchOptions{}
	fs := newFlags("receiver fetch", o)
	fs.StringVar(&o.qr, "qr", "", "")
	fs.StringVar(&o.uriFile, "uri-file", "", "")
	pos, err := parseCommon(fs, args)
	if errors.Is(err, errHelp) {
		fmt.Fprint(stderr, usage)
	}
	if err != nil {
		return err
	}
	for _, p := range pos {
		switch {
		case p == "-":
			o.stdin = true
		case looksLikeCard(p):
			// Do not echo it: it is the secret.
			return &usageError{"the card's text was given on the command line, where other users can read it; pass it on standard input (-), with --uri-file, or scan it with --qr"}
		default:
			return &usageError{fmt.Sprintf("unexpected argument %q", p)}
		}
	}
	sources := 0
	for _, set := range []bool{o.qr != "", o.uriFile != "", o.stdin} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return &usageError{"give the card exactly one way: --qr IMAGE, --uri-file FILE, or - for standard input"}
	}
	if o.out == "" {
		return &usageError{"--out DIR is required: the folder to save the study in"}
	}
	text, err := readCard(o, stdin)
	if err != nil {
		return err
	}
	js := jsonOut(o, stdout)
	_, err = fetch(ctx, o, text, confirmer(o, stdin, stderr), stdout, stderr, js)
	if err != nil {
		js.Emit(map[string]any{"type": "error", "exit_code": exitCode(err), "message": err.Error()})
	}
	return err
}

func jsonOut(o *fetchOptions, stdout io.Writer) *console.JSON {
	if o.json {
		return console.NewJSON(stdout)
	}
	return nil
}

func looksLikeCard(s string) bool {
	return len(s) > len(card.Scheme) && strings.HasPrefix(strings.ToUpper(s), "IMAGESHARE:")
}

// readCard returns the card's text from where the options say.
func readCard(o *fetchOptions, stdin io.Reader) (string, error) {
	switch {
	case o.qr != "":
		f, err := os.Open(o.qr)
		if err != nil {
			return "", fmt.Errorf("%w: %v", errCardRead, err)
		}
		defer f.Close()
		text, err := card.DecodeImage(f)
		if err != nil {
			return "", fmt.Errorf("%w from %s: %v", errCardRead, o.qr, err)
		}
		return text, nil
	case o.uriFile != "":
		b, err := readLimited(o.uriFile)
		if err != nil {
			return "", fmt.Errorf("%w: %v", errCardRead, err)
		}
		return string(b), nil
	default:
		sc := bufio.NewScanner(io.LimitReader(stdin, 64<<10))
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				return line, nil
			}
		}
		return "", fmt.Errorf("%w: standard input held no card", errCardRead)
	}
}

func readLimited(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	return bytes.TrimSpace(b), err
}

// confirmer returns the question asked before fetching, or nil when none
// is to be asked: with --yes, or with no terminal to ask on.
func confirmer(o *fetchOptions, stdin io.Reader, stderr io.Writer) func(string) (bool, error) {
	if o.yes || !console.IsTerminal(stderr) {
		return nil
	}
	return func(q string) (bool, error) {
		if !o.stdin && console.IsTerminal(stdin) {
			return console.Confirm(stdin, stderr, q)
		}
		tty, err := console.OpenTTY()
		if err != nil {
			return true, nil // no terminal to ask on
		}
		defer tty.Close()
		return console.Confirm(tty, stderr, q)
	}
}

// fetchResult is what one fetch did.
type fetchResult struct {
	Dir   string
	Files int
	Bytes int64
}

// fetch does one card's work: connect, prove, show, confirm, fetch, verify,
// confirm receipt.
func fetch(ctx context.Context, o *fetchOptions, text string, confirm func(string) (bool, error), stdout, stderr io.Writer, js *console.JSON) (*fetchResult, error) {
	start := time.Now()
	offer, err := card.ParseURI(text)
	if err != nil {
		return nil, err
	}
	js.Emit(map[string]any{"type": "card", "offer_id": offer.ID.String(), "peer_id": offer.Peer.String(), "expires": offer.Expires, "passcode": offer.Passcode})
	if time.Now().After(offer.Expires) {
		fmt.Fprintf(stderr, "receiver: warning: the card says it expired at %s; asking the sender anyway\n", offer.Expires.Local().Format("2006-01-02 15:04 MST"))
	}
	keys, err := icrypto.DeriveKeys(&offer.Secret)
	if err != nil {
		return nil, err
	}

	h, err := discovery.NewHost(discovery.HostOptions{})
	if err != nil {
		return nil, err
	}
	defer h.Close()
	fmt.Fprintf(stderr, "receiver: connecting to %s ...\n", offer.Peer)
	conn, err := discovery.Connect(ctx, h, offer.Peer, offer.Addrs, o.timeout)
	if err != nil {
		return nil, err
	}
	path := "direct"
	if conn.Stat().Limited {
		path = "relayed"
	}
	js.Emit(map[string]any{"type": "connected", "addr": conn.RemoteMultiaddr().String(), "path": path})

	client := &transfer.Client{
		Open: func(ctx context.Context) (transfer.Stream, error) {
			return h.NewStream(ctx, offer.Peer, protocol.ID(transfer.ProtocolID))
		},
		Local:  string(h.ID()),
		Remote: string(offer.Peer),
		Offer:  offer,
		Keys:   keys,
	}
	m, err := client.Manifest(ctx)
	if err != nil {
		return nil, err
	}

	// Show who and what before fetching a byte of image data.
	if m.Site != "" {
		fmt.Fprintf(stderr, "\nFrom:         %s\n", m.Site)
	}
	for _, s := range m.Studies {
		fmt.Fprintln(stderr)
		study.WriteSummary(stderr, s)
	}
	report := "no"
	if r, ok := m.Report(); ok {
		report = fmt.Sprintf("yes (%s, %s)", r.Path, study.FormatBytes(r.Size))
	}
	fmt.Fprintf(stderr, "Report:       %s\nTransfer:     %s to fetch (%s of files)\n\n", report, study.FormatBytes(m.StoredSize()), study.FormatBytes(m.TotalSize()))
	js.Emit(map[string]any{"type": "manifest", "site": m.Site, "studies": m.Studies, "files": len(m.Files), "bytes": m.TotalSize(), "stored_bytes": m.StoredSize(), "report": report != "no"})
	if confirm != nil {
		ok, err := confirm("Receive this study?")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errDeclined
		}
	}

	dir := filepath.Join(o.out, studyFolder(m))
	store, err := transfer.OpenStore(dir, m)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	need := make([]int, len(m.Chunks))
	for i := range need {
		need[i] = i
	}
	bar := console.NewProgress(stderr, m.StoredSize(), "receiving", !o.quiet && !o.json)
	var fetched int64
	err = client.Fetch(ctx, m, need, store.Put, func(n int64) {
		fetched += n
		bar.Add(n)
	})
	bar.Finish()
	if err != nil {
		return nil, err
	}
	if err := store.Finish(); err != nil {
		return nil, err
	}
	elapsed := time.Since(start)
	fmt.Fprintf(stderr, "receiver: %d files (%s) verified against their SHA-256 in %s\n", len(m.Files), study.FormatBytes(m.TotalSize()), elapsed.Round(time.Millisecond))
	if err := client.Confirm(ctx, len(m.Files), m.TotalSize()); err != nil {
		fmt.Fprintf(stderr, "receiver: warning: the study is complete here, but the sender was not told: %v\n", err)
	}
	fmt.Fprintf(stderr, "receiver: study saved in %s\n", dir)
	uids := make([]string, len(m.Studies))
	for i, s := range m.Studies {
		uids[i] = s.StudyUID
	}
	js.Emit(map[string]any{
		"type": "summary", "offer_id": offer.ID.String(), "study_uid": uids[0], "study_uids": uids,
		"files": len(m.Files), "bytes": m.TotalSize(), "fetched_bytes": fetched, "reused_bytes": 0,
		"dir": dir, "path": path, "seconds": elapsed.Seconds(), "verified": true,
	})
	if js == nil {
		fmt.Fprintln(stdout, dir)
	}
	return &fetchResult{Dir: dir, Files: len(m.Files), Bytes: m.TotalSize()}, nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// studyFolder names the study's folder: its date and the offer, which stay
// the same if the same card is fetched again. No patient data goes into
// the name.
func studyFolder(m *transfer.Manifest) string {
	date := "undated"
	if len(m.Studies) > 0 && m.Studies[0].StudyDate != "" {
		date = unsafeName.ReplaceAllString(m.Studies[0].StudyDate, "_")
	}
	return fmt.Sprintf("study-%s-%s", date, m.OfferID)
}

// A libp2p stream is what the transfer protocol runs on.
var _ transfer.Stream = (network.Stream)(nil)
