package study

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"imageshare/internal/printable"
)

// dash stands for a missing value, so that a blank is never mistaken for one.
const dash = "—"

// WriteSummary writes the summary staff read before they send or receive a
// study: the patient, the study, one line per series, and the totals.
// Missing values show as "—". The values come from a medium or a sender's
// manifest: each is shown with printable.String, so that none can drive the
// terminal.
func WriteSummary(w io.Writer, s Summary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	id := orDash(s.PatientID)
	if s.IssuerOfPatientID != "" {
		id += " (issuer " + printable.String(s.IssuerOfPatientID) + ")"
	}
	date := FormatDate(s.StudyDate)
	if t := formatTime(s.StudyTime); t != "" && s.StudyDate != "" {
		date += " " + printable.String(t)
	}
	fmt.Fprintf(tw, "Patient:\t%s\n", FormatName(s.PatientName))
	fmt.Fprintf(tw, "Patient ID:\t%s\n", id)
	fmt.Fprintf(tw, "Birth date:\t%s\n", FormatDate(s.BirthDate))
	fmt.Fprintf(tw, "Sex:\t%s\n", orDash(s.Sex))
	fmt.Fprintf(tw, "Study date:\t%s\n", date)
	fmt.Fprintf(tw, "Description:\t%s\n", orDash(s.Description))
	fmt.Fprintf(tw, "Accession:\t%s\n", orDash(s.Accession))
	if s.Institution != "" {
		fmt.Fprintf(tw, "Institution:\t%s\n", printable.String(s.Institution))
	}
	fmt.Fprintf(tw, "Modalities:\t%s\n", orDash(strings.Join(s.Modalities, ", ")))
	fmt.Fprintf(tw, "Study UID:\t%s\n", orDash(s.StudyUID))
	tw.Flush()

	fmt.Fprintf(w, "Series: %d\n", len(s.Series))
	writeSeries(w, s.Series)
	files := "files"
	if s.Files == 1 {
		files = "file"
	}
	fmt.Fprintf(w, "Total: %d %s, %s\n", s.Files, files, FormatBytes(s.Bytes))
}

// writeSeries writes one line per series: number, modality, description,
// images and size, in columns.
func writeSeries(w io.Writer, series []Series) {
	rows := make([][5]string, len(series))
	var width [5]int
	for i, se := range series {
		images := "images"
		if se.Images == 1 {
			images = "image"
		}
		rows[i] = [5]string{strconv.Itoa(se.Number), orDash(se.Modality), orDash(se.Description),
			fmt.Sprintf("%d %s", se.Images, images), FormatBytes(se.Bytes)}
		for j, c := range rows[i] {
			width[j] = max(width[j], utf8.RuneCountInString(c))
		}
	}
	pad := func(s string, n int) string { return strings.Repeat(" ", n-utf8.RuneCountInString(s)) }
	for _, r := range rows {
		// Numbers to the right, text to the left.
		fmt.Fprintf(w, "  %s%s  %s%s  %s%s  %s%s  %s%s\n",
			pad(r[0], width[0]), r[0], r[1], pad(r[1], width[1]), r[2], pad(r[2], width[2]),
			pad(r[3], width[3]), r[3], pad(r[4], width[4]), r[4])
	}
}

// FormatName shows a DICOM person name (PN) as staff write it: "DOE^JOHN" as
// "DOE, JOHN", "DOE^JOHN^A^DR^JR" as "DOE, DR JOHN A, JR". Of a name with
// ideographic or phonetic groups ("=") it shows the first group that is not
// empty. An empty name is "—". The result is safe to print (printable.String).
func FormatName(pn string) string {
	pn = printable.String(pn)
	group := ""
	for g := range strings.SplitSeq(pn, "=") {
		if strings.Trim(g, "^ ") != "" {
			group = g
			break
		}
	}
	var c [5]string // family, given, middle, prefix, suffix
	for i, v := range strings.SplitN(group, "^", 5) {
		c[i] = strings.Join(strings.Fields(v), " ")
	}
	first := strings.Join(nonEmpty(c[3], c[1], c[2]), " ")
	name := strings.Join(nonEmpty(c[0], first, c[4]), ", ")
	return orDash(name)
}

// FormatDate shows a DICOM date (DA, "YYYYMMDD", or the old "YYYY.MM.DD")
// as 1970-01-31. An empty date is "—"; a date that is not valid shows as
// stored (safe to print, printable.String), so that nothing is hidden.
func FormatDate(da string) string {
	da = printable.String(strings.TrimSpace(da))
	if da == "" {
		return dash
	}
	for _, layout := range []string{"20060102", "2006.01.02"} {
		if t, err := time.Parse(layout, da); err == nil {
			return t.Format("2006-01-02")
		}
	}
	return da
}

// formatTime shows a DICOM time (TM, "HHMMSS.FFFFFF", possibly shortened,
// or the old "HH:MM:SS") as 10:22, or as stored if it is not one.
func formatTime(tm string) string {
	tm = strings.ReplaceAll(strings.TrimSpace(tm), ":", "")
	if len(tm) < 4 {
		return tm
	}
	for _, c := range tm[:4] {
		if c < '0' || c > '9' {
			return tm
		}
	}
	return tm[:2] + ":" + tm[2:4]
}

// FormatBytes shows a size in binary units: "512 B", "1.5 KiB", "67.0 MiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, exp := float64(n)/unit, 0
	// Move up a unit before the value would show as 1024.0.
	for v >= unit-0.05 && exp < 5 {
		v /= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[exp])
}

// orDash shows s, safe to print (printable.String), or "—" for nothing.
func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return dash
	}
	return printable.String(s)
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
