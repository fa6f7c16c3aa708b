//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Targets, from issue 4.
const (
	targetIdealFactor  = 1.05      // WAN 100 Mbit: delivery ≤ 1.05 × ideal
	targetRawFactor    = 0.55      // WAN 100 Mbit: delivery ≤ 0.55 × raw TCP
	targetLoopbackPart = 0.25      // loopback: end to end ≥ 25% of one libp2p stream
	targetPeakRSS      = 150e6     // bytes, each side
	targetCardPer100MB = 1.0       // seconds until the card is ready, per 100 MB
	targetLinkRate     = 100e6 / 8 // the WAN targets' link, in bytes a second
)

// row is one measurement.
type row struct {
	Section string   `json:"section"`
	What    string   `json:"what"`
	Value   *float64 `json:"value"` // nil when not measured: n/a
	Unit    string   `json:"unit"`
	Target  string   `json:"target,omitempty"`
	Pass    *bool    `json:"pass,omitempty"`
}

// runRecord is one run's details, for the JSON.
type runRecord struct {
	Section string `json:"section"`
	Name    string `json:"name"`
	Result  any    `json:"result"`
}

type skip struct {
	Part string `json:"part"`
	Why  string `json:"why"`
}

// report is everything measured, as printed and as written.
type report struct {
	Started time.Time `json:"started"`
	Host    struct {
		CPUs   int    `json:"cpus"`
		Kernel string `json:"kernel"`
		Go     string `json:"go"`
	} `json:"host"`
	Config struct {
		Size         int64    `json:"size"`
		Rates        []string `json:"rates"`
		DelaySeconds float64  `json:"delay_seconds"` // one way
		TBFLatency   string   `json:"tbf_latency"`
	} `json:"config"`
	Study struct {
		Source string `json:"source"`
		Files  int    `json:"files"`
		Bytes  int64  `json:"bytes"`
		Dir    string `json:"dir"`
	} `json:"study"`
	Rows    []row       `json:"rows"`
	Runs    []runRecord `json:"runs"`
	Skipped []skip      `json:"skipped,omitempty"`
}

func newReport(c *config, st *benchStudy) *report {
	r := &report{Started: time.Now().UTC().Truncate(time.Second)}
	r.Host.CPUs = runtime.NumCPU()
	r.Host.Go = runtime.Version()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		r.Host.Kernel = strings.TrimSpace(string(b))
	}
	r.Config.Size, r.Config.Rates, r.Config.DelaySeconds, r.Config.TBFLatency = c.size, c.rates, c.delay.Seconds(), tbfLatency
	r.Study.Source, r.Study.Files, r.Study.Bytes, r.Study.Dir = st.Source, len(st.Files), st.Bytes, st.Dir
	return r
}

func (r *report) addRun(section, name string, result any) {
	r.Runs = append(r.Runs, runRecord{section, name, result})
}

func (r *report) skipped(part, why string) { r.Skipped = append(r.Skipped, skip{part, why}) }

func (r *report) add(section, what string, v float64, unit string) {
	r.Rows = append(r.Rows, row{Section: section, What: what, Value: &v, Unit: unit})
}

func (r *report) na(section, what, unit string) {
	r.Rows = append(r.Rows, row{Section: section, What: what, Unit: unit})
}

// atMost adds a row whose target is v ≤ limit.
func (r *report) atMost(section, what string, v float64, unit string, limit float64, target string) {
	pass := v <= limit
	r.Rows = append(r.Rows, row{Section: section, What: what, Value: &v, Unit: unit, Target: target, Pass: &pass})
}

// atLeast adds a row whose target is v ≥ limit.
func (r *report) atLeast(section, what string, v float64, unit string, limit float64, target string) {
	pass := v >= limit
	r.Rows = append(r.Rows, row{Section: section, What: what, Value: &v, Unit: unit, Target: target, Pass: &pass})
}

// rawRow adds a raw baseline's rate.
func (r *report) rawRow(section, what string, raw *rawRun) {
	r.add(section, what, raw.rate(), "MB/s")
}

// loopbackRows adds an end-to-end loopback run over transport, against
// the raw TCP socket and the libp2p stream of the same transport.
func (r *report) loopbackRows(transport string, e *endToEnd, stream *rawRun) {
	s := "loopback"
	r.add(s, "end to end over "+transport+", study bytes", e.rate(), "MB/s")
	r.add(s, "end to end over "+transport+", receiver's time", e.Seconds, "s")
	r.atLeast(s, "end to end over "+transport+" ÷ libp2p stream", 100*e.rate()/stream.rate(), "%",
		100*targetLoopbackPart, fmt.Sprintf("≥ %.0f%%", 100*targetLoopbackPart))
	r.studyRows(s, transport, e, true)
}

// studyRows adds what every end-to-end run measures beside the transfer
// time: the card, the first series, memory and CPU.
func (r *report) studyRows(s, transport string, e *endToEnd, card bool) {
	p := ""
	if transport != "" {
		p = "(" + transport + ") "
	}
	if card {
		r.add(s, p+"compression ratio, study ÷ stored bytes", e.ratio(), "×")
		limit := targetCardPer100MB * float64(e.StudyBytes) / 100e6
		r.atMost(s, p+"card ready: sender start to URI file", e.CardReadySeconds, "s", limit,
			fmt.Sprintf("≤ %.2f (1 s/100 MB)", limit))
		r.add(s, p+"card ready: sender's pack_seconds", e.PackSeconds, "s")
	}
	if e.FirstSeriesSeconds != nil {
		r.add(s, p+"first series complete at the receiver", *e.FirstSeriesSeconds, "s")
	} else {
		r.na(s, p+"first series complete at the receiver", "s")
	}
	rss := fmt.Sprintf("≤ %.0f", targetPeakRSS/1e6)
	r.atMost(s, p+"sender peak RSS", float64(e.Sender.PeakRSSBytes)/1e6, "MB", targetPeakRSS/1e6, rss)
	r.atMost(s, p+"receiver peak RSS", float64(e.Receiver.PeakRSSBytes)/1e6, "MB", targetPeakRSS/1e6, rss)
	r.add(s, p+"sender CPU, user+sys (packing included)", e.Sender.CPUSeconds, "s")
	r.add(s, p+"receiver CPU, user+sys", e.Receiver.CPUSeconds, "s")
}

// wanRows adds an end-to-end run across the emulated WAN, against the raw
// TCP run on the same link and the ideal.
func (r *report) wanRows(s string, bps float64, e *endToEnd, raw *rawRun) {
	ideal := float64(e.StoredBytes) / bps
	targets := bps == targetLinkRate
	r.add(s, "round trip (raw TCP connect)", raw.ConnectSeconds*1e3, "ms")
	r.add(s, "raw TCP, study bytes", raw.Seconds, "s")
	// What TCP itself reaches on this link: at 1500-byte packets, Ethernet,
	// IP and TCP headers alone make it 1.046.
	r.add(s, "raw TCP ÷ study bytes at the link rate", raw.Seconds/(float64(raw.Bytes)/bps), "×")
	r.add(s, "ideal: stored bytes at the link rate", ideal, "s")
	r.add(s, "end to end, receiver's time", e.Seconds, "s")
	r.add(s, "end to end, study bytes", e.rate(), "MB/s")
	r.add(s, "end to end ÷ stored bytes at raw TCP's rate", e.Seconds/(raw.Seconds/e.ratio()), "×")
	if targets {
		r.atMost(s, "end to end ÷ ideal", e.Seconds/ideal, "×", targetIdealFactor, fmt.Sprintf("≤ %.2f", targetIdealFactor))
		r.atMost(s, "end to end ÷ raw TCP", e.Seconds/raw.Seconds, "×", targetRawFactor, fmt.Sprintf("≤ %.2f", targetRawFactor))
	} else {
		r.add(s, "end to end ÷ ideal", e.Seconds/ideal, "×")
		r.add(s, "end to end ÷ raw TCP", e.Seconds/raw.Seconds, "×")
	}
	r.studyRows(s, "", e, false)
}

// wanQUICRows reports the end-to-end run over QUIC on a WAN link. The
// targets are for TCP, the path every site allows.
func (r *report) wanQUICRows(s string, bps float64, e *endToEnd, raw *rawRun) {
	r.add(s, "end to end over QUIC, receiver's time", e.Seconds, "s")
	r.add(s, "end to end over QUIC, study bytes", e.rate(), "MB/s")
	r.add(s, "end to end over QUIC ÷ ideal", e.Seconds/(float64(e.StoredBytes)/bps), "×")
	r.add(s, "end to end over QUIC ÷ raw TCP", e.Seconds/raw.Seconds, "×")
	r.add(s, "(quic) receiver peak RSS", float64(e.Receiver.PeakRSSBytes)/1e6, "MB")
	r.add(s, "(quic) receiver CPU, user+sys", e.Receiver.CPUSeconds, "s")
}

// writeTable prints the rows, a section at a time.
func (r *report) writeTable(w io.Writer) {
	fmt.Fprintf(w, "\nimageshare bench, %s: %s, %d files, %.1f MB; %d CPUs, Linux %s\n",
		r.Started.Format("2006-01-02 15:04 UTC"), r.Study.Source, r.Study.Files, float64(r.Study.Bytes)/1e6, r.Host.CPUs, r.Host.Kernel)
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	section := ""
	for _, x := range r.Rows {
		if x.Section != section {
			section = x.Section
			fmt.Fprintf(tw, "\n%s\t\t\t\t\n", section)
		}
		value := "n/a"
		if x.Value != nil {
			value = formatValue(*x.Value, x.Unit)
		}
		result := ""
		if x.Pass != nil {
			result = "FAIL"
			if *x.Pass {
				result = "pass"
			}
		}
		fmt.Fprintf(tw, "  %s\t%8s %s\t%s\t%s\t\n", x.What, value, x.Unit, x.Target, result)
	}
	tw.Flush()
	for _, line := range strings.Split(buf.String(), "\n") {
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "skipped: %s: %s\n", s.Part, s.Why)
	}
}

func formatValue(v float64, unit string) string {
	switch unit {
	case "MB", "%":
		return fmt.Sprintf("%.0f", v)
	case "MB/s", "ms":
		return fmt.Sprintf("%.1f", v)
	case "×":
		return fmt.Sprintf("%.3f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// writeJSON writes the report to name.
func (r *report) writeJSON(name string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(name, append(b, '\n'), 0o644)
}
