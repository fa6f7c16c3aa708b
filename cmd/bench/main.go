//go:build linux

// Command bench measures imageshare end to end: a large study made of real
// CT, sent by the built sender and fetched by the built receiver over
// loopback and over an emulated WAN, against the same bytes sent raw. It
// is a benchmark, not a test: it reports targets as pass or fail and exits
// 0 all the same. Run "go run ./cmd/bench --help" for its use.
//
// It is for Linux only: it reads wait4's rusage, and its WAN runs on
// network namespaces, tc and TUN devices.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"imageshare/internal/cli"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const usage = `bench measures imageshare's sender and receiver end to end.

Usage:
    go run ./cmd/bench [options]        (or: make bench BENCHFLAGS='...')

bench builds a study of about -size bytes by copying the CT series in
../shared/dicom/ct-pancreas/CT_series with fresh UIDs (or, without it, a
synthetic CT study), and keeps it in the work folder for the next run. Then
it measures, with bin/sender and bin/receiver (run "make build" first):

  loopback   sender and receiver on 127.0.0.1, over TCP and over QUIC,
             against the same bytes over one plain libp2p stream (TCP and
             QUIC, no compression or encryption) and over one TCP socket.
  WAN        sender and receiver in two network namespaces joined through
             a third, the "router", whose links are shaped with tc tbf at
             each -rates, with no added delay and with -delay each way
             (added by a userspace forwarder through TUN devices, as there
             is no netem); against the same bytes over one TCP socket on
             the same link, and against the ideal: the bytes the sender
             stores (study bytes ÷ compression ratio) at the link's rate.
             It needs root, ip and tc; it is skipped, saying why, without.

For each end-to-end run it also records the compression ratio, the time
until the card is ready (the sender's pack_seconds, and the wall time from
its start to the URI file), the time until the first series is complete at
the receiver, and each side's CPU seconds (user+sys) and peak resident
memory, both from wait4(2)'s rusage (ru_maxrss: what /usr/bin/time -v calls
"Maximum resident set size").

It prints a table, a row a measurement, with the target and pass or fail
where the project has one, and writes all of it, each run's details too, as
JSON. MB is 10^6 bytes; rates are of study bytes unless said otherwise.

Options:
    -size SIZE      Study size, e.g. 300MB, 1GB, 2GiB (default 1GB).
    -out FILE       Write the results as JSON to FILE (default bench-results.json).
    -work DIR       Folder for the cached studies and the runs (default
                    $TMPDIR/imageshare-bench).
    -bin DIR        Folder holding sender and receiver (default bin).
    -source DIR     Series to copy (default ../shared/dicom/ct-pancreas/CT_series);
                    when it is absent the study is synthetic.
    -skip-wan       Measure on loopback only.
    -skip-loopback  Measure on the emulated WAN only.
    -rates LIST     WAN link rates, as tc writes them (default 100mbit,1gbit).
    -delay DURATION One-way delay added on the WAN runs that have one
                    (default 25ms: a 50 ms round trip); 0 for none.
    -keep           Keep each run's received study and logs. Without it
                    they are removed when the benchmark ends: the work
                    folder needs room for a copy of the study per run.
    -receiver-args ARGS
                    More arguments for each receiver fetch, space-separated,
                    e.g. '--connections 1' to measure a choice.
    -profile DIR    Write CPU profiles of each end-to-end run's sender and
                    receiver into DIR, as RUN-sender.pprof and
                    RUN-receiver.pprof, for "go tool pprof".

Examples:
    make build && go run ./cmd/bench -size 300MB
    go run ./cmd/bench -skip-wan -out /tmp/loopback.json
    make bench BENCHFLAGS='-size 2GB -rates 100mbit -delay 40ms'

EXIT STATUS
    0   the benchmark ran (whether or not each target was met)
    1   a measurement failed
    2   bad usage
    130 interrupted; the network namespaces are removed
`

// internalRole is the first argument with which bench runs itself for
// its parts that live in another process or network namespace.
const internalRole = "internal"

func main() {
	ctx, stop := cli.NotifyContext(context.Background())
	var code int
	if len(os.Args) > 1 && os.Args[1] == internalRole {
		code = runInternal(ctx, os.Args[2:], os.Stdout, os.Stderr)
	} else {
		code = run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}
	stop()
	os.Exit(code)
}

// runInternal runs one of bench's internal roles: serve and fetch (the
// raw baselines) and delay (the WAN's delaying forwarder).
func runInternal(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "bench: error: internal: no role given")
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServe(ctx, args[1:], stdout)
	case "fetch":
		err = runFetch(ctx, args[1:], stdout)
	case "delay":
		err = runDelay(ctx, args[1:], stdout)
	default:
		err = fmt.Errorf("unknown role %q", args[0])
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench: error: internal %s: %v\n", args[0], err)
		if ctx.Err() != nil {
			return 130
		}
		return 1
	}
	return 0
}

// config is what the command line asks for.
type config struct {
	size         int64
	out          string
	work         string
	bin          string
	source       string
	skipWAN      bool
	skipLoopback bool
	rates        []string
	delay        time.Duration
	keep         bool
	profile      string
	// receiverArgs are added to each receiver fetch.
	receiverArgs []string
}

// run runs the benchmark and returns its exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench: error: %v\n", err)
		fmt.Fprintln(stderr, "hint: go run ./cmd/bench --help shows the options")
		return 2
	}
	rep, err := benchmark(ctx, c, stderr)
	if rep != nil {
		rep.writeTable(stdout)
		if werr := rep.writeJSON(c.out); werr != nil {
			err = errors.Join(err, werr)
		} else {
			fmt.Fprintf(stderr, "bench: results written to %s\n", c.out)
		}
	}
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "bench: interrupted")
		return 130
	case err != nil:
		fmt.Fprintf(stderr, "bench: error: %v\n", err)
		return 1
	}
	return 0
}

func parseArgs(args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	size := fs.String("size", "1GB", "")
	rates := fs.String("rates", "100mbit,1gbit", "")
	fs.StringVar(&c.out, "out", "bench-results.json", "")
	fs.StringVar(&c.work, "work", filepath.Join(os.TempDir(), "imageshare-bench"), "")
	fs.StringVar(&c.bin, "bin", "bin", "")
	fs.StringVar(&c.source, "source", filepath.Join("..", "shared", "dicom", "ct-pancreas", "CT_series"), "")
	fs.BoolVar(&c.skipWAN, "skip-wan", false, "")
	fs.BoolVar(&c.skipLoopback, "skip-loopback", false, "")
	fs.DurationVar(&c.delay, "delay", 25*time.Millisecond, "")
	fs.BoolVar(&c.keep, "keep", false, "")
	fs.StringVar(&c.profile, "profile", "", "")
	receiverArgs := fs.String("receiver-args", "", "")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c.receiverArgs = strings.Fields(*receiverArgs)
	var err error
	if c.size, err = parseSize(*size); err != nil {
		return nil, fmt.Errorf("-size: %w", err)
	}
	for _, r := range strings.Split(*rates, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		if _, err := parseLinkRate(r); err != nil {
			return nil, fmt.Errorf("-rates: %w", err)
		}
		c.rates = append(c.rates, r)
	}
	if c.delay < 0 {
		return nil, fmt.Errorf("-delay %v: must not be negative", c.delay)
	}
	if c.profile != "" {
		if err := os.MkdirAll(c.profile, 0o755); err != nil {
			return nil, fmt.Errorf("-profile: %w", err)
		}
	}
	for _, p := range []*string{&c.work, &c.bin, &c.source, &c.profile} {
		if *p == "" {
			continue
		}
		if *p, err = filepath.Abs(*p); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// parseSize reads a size such as 300MB, 1GB or 2GiB: SI units, and the
// binary ones by their IEC names.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{
		{"TIB", 1 << 40}, {"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10},
		{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}, {"", 1},
	}
	u := strings.ToUpper(strings.TrimSpace(s))
	for _, x := range units {
		if !strings.HasSuffix(u, x.suffix) {
			continue
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(u, x.suffix)), 64)
		if err != nil || n <= 0 || n*x.mult < 1 {
			break
		}
		return int64(n * x.mult), nil
	}
	return 0, fmt.Errorf("%q is not a size like 300MB or 1GB", s)
}

// parseLinkRate reads a rate as tc writes it (100mbit, 1gbit, 500kbit) and
// returns it in bytes a second.
func parseLinkRate(s string) (float64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}, {"bit", 1}}
	l := strings.ToLower(strings.TrimSpace(s))
	for _, x := range units {
		if !strings.HasSuffix(l, x.suffix) {
			continue
		}
		n, err := strconv.ParseFloat(strings.TrimSuffix(l, x.suffix), 64)
		if err != nil || n <= 0 {
			break
		}
		return n * x.mult / 8, nil
	}
	return 0, fmt.Errorf("%q is not a link rate like 100mbit or 1gbit", s)
}

// benchmark runs every part and returns what it measured, as far as it
// got.
func benchmark(ctx context.Context, c *config, stderr io.Writer) (*report, error) {
	for _, name := range []string{"sender", "receiver"} {
		if _, err := os.Stat(filepath.Join(c.bin, name)); err != nil {
			return nil, fmt.Errorf("%s: %w (run make build first)", filepath.Join(c.bin, name), err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding the bench program itself: %w", err)
	}
	// The runs' folders of an earlier run, which -keep may have kept.
	if err := os.RemoveAll(filepath.Join(c.work, "runs")); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.work, 0o755); err != nil {
		return nil, err
	}
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", a...) }

	st, err := prepareStudy(ctx, c, logf)
	if err != nil {
		return nil, fmt.Errorf("preparing the study: %w", err)
	}
	r := newReport(c, st)
	b := &bench{c: c, st: st, self: self, logf: logf}
	defer b.cleanup()
	if c.skipLoopback {
		r.skipped("loopback", "-skip-loopback given")
	} else if err := b.loopback(ctx, r); err != nil {
		return r, fmt.Errorf("loopback: %w", err)
	}
	if why := wanUnavailable(c); why != "" {
		logf("WAN part skipped: %s", why)
		r.skipped("wan", why)
		return r, nil
	}
	if err := b.wan(ctx, r); err != nil {
		return r, fmt.Errorf("WAN: %w", err)
	}
	return r, nil
}

// bench holds what every part needs.
type bench struct {
	c    *config
	st   *benchStudy
	self string // this program, for its internal roles
	logf func(format string, a ...any)
	runs int // numbers the runs' folders
	// finished are the runs' folders to remove at the end.
	finished []string
}

// runDir makes a fresh folder for one run.
func (b *bench) runDir(name string) (string, error) {
	b.runs++
	dir := filepath.Join(b.c.work, "runs", fmt.Sprintf("%02d-%s", b.runs, name))
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	return dir, os.MkdirAll(dir, 0o755)
}

// doneWith marks a run's folder for removal at the end, unless -keep.
//
// The folders are removed only when the benchmark ends: ext4 avoids
// reusing an inode for a minute or more after its file is deleted, and
// scans past such inodes when it creates a file. Deleting one run's 2,000
// received files just before the next run made every file the receiver
// created cost about 0.8 ms of kernel time (perf: recently_deleted under
// ext4_create), 16% of the receiver's CPU: a cost of the benchmark, not
// of a receiver.
func (b *bench) doneWith(dir string) {
	if !b.c.keep {
		b.finished = append(b.finished, dir)
	}
}

// cleanup removes the folders of the runs that are done.
func (b *bench) cleanup() {
	for _, dir := range b.finished {
		os.RemoveAll(dir)
	}
	b.finished = nil
}
