package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxLineSize caps one line of a trail; a longer line is reported, not read.
const MaxLineSize = 1 << 20

// maxLineErrors caps how many bad lines Read reports.
const maxLineErrors = 100

// LineError is a line of a trail that is not an audit event.
type LineError struct {
	Line int // 1-based
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("audit log line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

var errNotEvent = errors.New("not an audit event")

// Read calls fn with each event of the trail in r, in order. A bad line does
// not stop it: Read goes on to the end and then returns the bad lines as
// *LineError values joined (errors.As finds the first). The last line, if it
// has no newline and does not parse, was torn by a crash and is skipped
// silently. An error from fn stops Read and is returned as it is.
func Read(r io.Reader, fn func(Event) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var bad []error
	for n := 1; ; n++ {
		line, ended, tooLong, err := readLine(br)
		if err != nil && err != io.EOF {
			return fmt.Errorf("reading audit log line %d: %w", n, err)
		}
		if len(line) == 0 && !ended && !tooLong {
			break // end of input
		}
		var perr error
		var e Event
		switch {
		case tooLong:
			perr = fmt.Errorf("longer than %d bytes", MaxLineSize)
		case len(bytes.TrimSpace(line)) == 0:
			continue
		default:
			perr = parseEvent(line, &e)
		}
		if perr != nil {
			if !ended && !tooLong {
				break // a torn last line
			}
			if len(bad) < maxLineErrors {
				bad = append(bad, &LineError{Line: n, Err: perr})
			}
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
		if !ended {
			break
		}
	}
	return errors.Join(bad...)
}

// readLine returns the next line without its newline, whether it ended with
// one, and whether it was longer than MaxLineSize (then its rest is
// skipped and line is nil).
func readLine(br *bufio.Reader) (line []byte, ended, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > MaxLineSize+1 {
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		switch err {
		case nil:
			if !tooLong {
				line = line[:len(line)-1]
			}
			return line, true, tooLong, nil
		case bufio.ErrBufferFull:
			continue
		default:
			return line, false, tooLong, err
		}
	}
}

func parseEvent(line []byte, e *Event) error {
	if err := json.Unmarshal(line, e); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			// The offset only: the message of a SyntaxError may quote the line.
			return fmt.Errorf("malformed JSON at byte %d", se.Offset)
		}
		return err
	}
	if e.EventID.Code == "" {
		return errNotEvent
	}
	return nil
}

// WriteText writes e as one line for people: the local time, what happened,
// its outcome, who took part (the requestor marked with *) and what it was
// about, then the details. Text
// from the trail is quoted where it holds anything but printable
// characters, so that a hostile name cannot break the line or drive the
// terminal.
func WriteText(w io.Writer, e Event) error {
	var b strings.Builder
	b.WriteString(e.Time.Local().Format("2006-01-02 15:04:05 -0700"))

	b.WriteString("  ")
	b.WriteString(clean(e.EventID.Meaning))
	if e.EventID.Meaning == "" {
		b.WriteString(clean(e.EventID.Code))
	}
	if e.EventType != nil {
		b.WriteString(": ")
		b.WriteString(clean(e.EventType.Meaning))
	}

	summary := e.isSummary()
	if summary {
		fmt.Fprintf(&b, "  %d times from %s to %s", e.Count(), clean(summaryTime(e.Detail["first"])), clean(summaryTime(e.Detail["last"])))
	}

	b.WriteString("  ")
	b.WriteString(e.Outcome.String())
	if e.OutcomeDescription != "" {
		b.WriteString(" (")
		b.WriteString(clean(e.OutcomeDescription))
		b.WriteString(")")
	}

	var parts []string
	for _, p := range e.Participants {
		parts = append(parts, participantText(p))
	}
	if len(parts) > 0 {
		b.WriteString("  ")
		b.WriteString(strings.Join(parts, "; "))
	}

	var objs []string
	for _, o := range e.Objects {
		s := clean(string(o.Type)) + " " + clean(o.ID)
		if o.Issuer != "" {
			s += " (issuer " + clean(o.Issuer) + ")"
		}
		if o.Name != "" {
			s += " " + clean(o.Name)
		}
		objs = append(objs, s)
	}
	if len(objs) > 0 {
		b.WriteString("  ")
		b.WriteString(strings.Join(objs, ", "))
	}

	if len(e.Detail) > 0 {
		var keys []string
		for k := range e.Detail {
			if summary && (k == "count" || k == "first" || k == "last") {
				continue
			}
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if len(keys) > 0 {
			b.WriteString(" ")
		}
		for _, k := range keys {
			b.WriteString(" ")
			b.WriteString(clean(k))
			b.WriteString("=")
			b.WriteString(detailText(e.Detail[k]))
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// summaryTime returns a summary's "first" or "last" time in local time,
// as WriteText prints times, or the value as it is if it is not a time.
func summaryTime(v any) string {
	s, _ := v.(string)
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return detailText(v)
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func participantText(p Participant) string {
	var who []string
	switch {
	case p.User != "" && p.Host != "":
		who = append(who, clean(p.User)+"@"+clean(p.Host))
	case p.User != "":
		who = append(who, clean(p.User))
	case p.Host != "":
		who = append(who, clean(p.Host))
	}
	if p.Program != "" {
		who = append(who, clean(p.Program))
	}
	if p.Site != "" {
		who = append(who, clean(p.Site))
	}
	if p.PeerID != "" {
		who = append(who, "peer "+clean(p.PeerID))
	}
	if p.Address != "" {
		who = append(who, "at "+clean(p.Address))
	}
	if p.Media != nil {
		who = append(who, "card ("+clean(p.Media.Meaning)+")")
	}
	s := clean(string(p.Role))
	if p.Requestor {
		s += "*"
	}
	if len(who) > 0 {
		s += " " + strings.Join(who, ", ")
	}
	return s
}

func detailText(v any) string {
	switch v := v.(type) {
	case string:
		return clean(v)
	case float64: // what JSON numbers decode to
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return clean(string(b))
}

// clean returns s if every rune in it is printable (spaces included) and
// it is valid UTF-8, and s quoted with Go escapes otherwise: no newline,
// terminal escape or bidirectional override reaches the output.
func clean(s string) string {
	if utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool {
		return !unicode.IsPrint(r) && r != ' '
	}) < 0 {
		return s
	}
	return strconv.QuoteToGraphic(s)
}
