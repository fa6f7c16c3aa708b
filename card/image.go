package card

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/skip2/go-qrcode"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Details are the readable lines printed on the card beside the QR.
type Details struct {
	Site        string    // sending hospital, from --site
	PatientName string    // DICOM PN as stored, e.g. "DOE^JOHN^Q" — shown as "DOE, JOHN Q"
	StudyDate   string    // DICOM DA YYYYMMDD — shown as 2021-03-04
	Description string    // study description
	Expires     time.Time // shown with date, time and zone; the line is left out when zero
	Passcode    bool      // when true the card says the receiving staff also need a passcode, given by phone
}

// The card is a portrait image the size of a phone screen. All sizes are in
// pixels.
const (
	CardWidth  = 1080
	CardHeight = 1920

	sideMargin = 72 // left and right margin of the text
	topMargin  = 48 // above the accent bar, and below the last line
	accentBar  = 10 // height of the coloured bar above the title
	accentGap  = 20 // between the accent bar and the title
	qrMargin   = 16 // beside the QR code, outside its own quiet zone
	minModule  = 4  // smallest QR module drawn; below it phones struggle
)

// Colours of the card. The background is white so that the QR's quiet zone
// is the card itself.
var (
	colBackground = color.RGBA{0xff, 0xff, 0xff, 0xff}
	colAccent     = color.RGBA{0x1f, 0x3a, 0x5f, 0xff} // dark navy
	colText       = color.RGBA{0x11, 0x11, 0x11, 0xff}
	colSecondary  = color.RGBA{0x44, 0x4b, 0x55, 0xff}
	colWarning    = color.RGBA{0x9b, 0x1c, 0x1c, 0xff} // dark red, 8:1 on white
	colNoteBox    = color.RGBA{0xee, 0xf1, 0xf5, 0xff}
	colModule     = color.RGBA{0x00, 0x00, 0x00, 0xff}
)

// patientNote is the plain-language line for the patient who carries the card.
const patientNote = "Show this card to the staff at the hospital you are going to. " +
	"Keep it private: it gives access to your scans."

// staffNote tells the receiving staff what the code is for; it fits one line.
const staffNote = "Receiving staff: scan this code with imageshare."

// passcodeNote is printed when the offer also needs a passcode.
const passcodeNote = "Staff also need a passcode. The sending hospital gives it by phone."

// fonts holds the parsed Go fonts. sfnt fonts are safe for concurrent use;
// faces made from them are not, so each WritePNG call makes its own.
var fonts = sync.OnceValues(func() (fontPair, error) {
	regular, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return fontPair{}, fmt.Errorf("parsing go regular font: %w", err)
	}
	bold, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return fontPair{}, fmt.Errorf("parsing go bold font: %w", err)
	}
	return fontPair{regular: regular, bold: bold}, nil
})

// fontPair is the card's two typefaces.
type fontPair struct {
	regular, bold *opentype.Font
}

// encodeQR builds the QR symbol for uri at error correction level Medium.
func encodeQR(uri string) (*qrcode.QRCode, error) {
	if uri == "" {
		return nil, errors.New("encoding qr code: empty uri")
	}
	q, err := qrcode.New(uri, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("encoding qr code: %w", err)
	}
	return q, nil
}

// QRVersion reports the QR version (1–40) that uri is encoded with at error
// correction level Medium. A URI entirely in the QR alphanumeric set
// (upper case, digits, space and $%*+-./:) is encoded in alphanumeric mode:
// up to 262 characters fit version 9 and up to 311 version 10.
func QRVersion(uri string) (int, error) {
	q, err := encodeQR(uri)
	if err != nil {
		return 0, err
	}
	return q.VersionNumber, nil
}

// WritePNG draws the card for uri and d as a CardWidth×CardHeight (1080×1920)
// portrait PNG on a white background: a title, the patient's name, the study
// and the sending site above a QR code as wide as the card (error correction
// Medium, with its quiet zone), then a line telling the receiving staff to
// scan it, the expiry, the passcode notice when d.Passcode is set, and a
// plain-language note asking the patient to show the card and keep it
// private. Text too long for its place is wrapped and then shortened with an
// ellipsis; it never runs off the card. Characters the Go fonts lack are
// drawn as "?".
func WritePNG(w io.Writer, uri string, d Details) error {
	img, err := drawCard(uri, d)
	if err != nil {
		return err
	}
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("writing card png: %w", err)
	}
	return nil
}

// drawCard renders the card into an image.
func drawCard(uri string, d Details) (*image.RGBA, error) {
	q, err := encodeQR(uri)
	if err != nil {
		return nil, err
	}
	l, err := layoutCard(q.Bitmap(), d)
	if err != nil {
		return nil, err
	}
	img := image.NewRGBA(image.Rect(0, 0, CardWidth, CardHeight))
	draw.Draw(img, img.Bounds(), image.NewUniform(colBackground), image.Point{}, draw.Src)
	l.draw(img)
	return img, nil
}

// cardLayout is the card laid out: every box and line with its position.
type cardLayout struct {
	boxes  []box
	lines  []textLine
	qr     [][]bool // modules including the quiet zone, [y][x], true is dark
	qrAt   image.Point
	module int // pixels per module
}

// box is a filled rectangle.
type box struct {
	r   image.Rectangle
	col color.Color
}

// textLine is one line of text; dot is its baseline origin.
type textLine struct {
	text  string
	face  font.Face
	col   color.Color
	dot   fixed.Point26_6
	width fixed.Int26_6
}

// bounds reports the pixels the line may cover: its advance width and the
// face's ascent and descent.
func (t textLine) bounds() image.Rectangle {
	m := t.face.Metrics()
	return image.Rect(
		t.dot.X.Floor(), (t.dot.Y - m.Ascent).Floor(),
		(t.dot.X + t.width).Ceil(), (t.dot.Y + m.Descent).Ceil())
}

// block is a run of wrapped text in one face, laid out as a unit.
type block struct {
	lines     []string
	face      font.Face
	col       color.Color
	gapBefore int // pixels above the block
	note      bool
}

// height reports the block's height in pixels, without gapBefore.
func (b block) height() int {
	return len(b.lines) * lineHeight(b.face)
}

// lineHeight reports the distance between baselines for face: the font's
// own line height and a little more leading, which reads better on a phone.
func lineHeight(face font.Face) int {
	return face.Metrics().Height.Ceil() * 11 / 10
}

// faces are the sizes the card uses.
type faces struct {
	title, name, body, strong, note font.Face
}

// newFaces makes the card's faces. Sizes are in pixels (72 DPI).
func newFaces() (faces, error) {
	fp, err := fonts()
	if err != nil {
		return faces{}, err
	}
	mk := func(f *opentype.Font, size float64) (font.Face, error) {
		face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
		if err != nil {
			return nil, fmt.Errorf("making %.0fpx face: %w", size, err)
		}
		return face, nil
	}
	var fs faces
	for _, s := range []struct {
		dst  *font.Face
		f    *opentype.Font
		size float64
	}{
		{&fs.title, fp.bold, 54},
		{&fs.name, fp.bold, 50},
		{&fs.body, fp.regular, 38},
		{&fs.strong, fp.bold, 40},
		{&fs.note, fp.regular, 36},
	} {
		if *s.dst, err = mk(s.f, s.size); err != nil {
			return faces{}, err
		}
	}
	return fs, nil
}

// noteInset is the padding inside the grey box around the patient note.
const noteInset = 24

// layoutCard places the text and the QR code (modules as from
// qrcode.Bitmap, quiet zone included) on the card. The QR gets the width of
// the card and shrinks only if the text would not otherwise fit.
func layoutCard(modules [][]bool, d Details) (cardLayout, error) {
	fs, err := newFaces()
	if err != nil {
		return cardLayout{}, err
	}
	textWidth := fixed.I(CardWidth - 2*sideMargin)
	noteWidth := textWidth - fixed.I(noteInset) // the box sticks out noteInset/2 each side

	var head, foot []block
	add := func(dst *[]block, face font.Face, col color.Color, gap, maxLines int, s string) {
		if s = cleanText(face, s); s == "" {
			return
		}
		*dst = append(*dst, block{lines: wrap(face, s, textWidth, maxLines), face: face, col: col, gapBefore: gap})
	}
	add(&head, fs.title, colAccent, 0, 1, "Imaging transfer card")
	add(&head, fs.name, colText, 20, 2, formatPatientName(d.PatientName))
	add(&head, fs.body, colText, 8, 2, studyLine(d.StudyDate, d.Description))
	if site := strings.TrimSpace(d.Site); site != "" {
		add(&head, fs.body, colSecondary, 4, 2, "From: "+site)
	}
	add(&foot, fs.body, colSecondary, 0, 2, staffNote)
	if !d.Expires.IsZero() {
		add(&foot, fs.strong, colText, 12, 1, "Valid until "+formatExpires(d.Expires))
	}
	if d.Passcode {
		add(&foot, fs.strong, colWarning, 12, 2, passcodeNote)
	}
	note := block{lines: wrap(fs.note, patientNote, noteWidth, 4), face: fs.note, col: colText, gapBefore: 28, note: true}
	foot = append(foot, note)

	const gapAroundQR = 8 // the quiet zone already separates the QR from the text
	textHeight := topMargin + accentBar + accentGap + gapAroundQR*2 + topMargin + 2*noteInset
	for _, b := range append(append([]block(nil), head...), foot...) {
		textHeight += b.gapBefore + b.height()
	}
	n := len(modules)
	if n == 0 {
		return cardLayout{}, errors.New("laying out card: empty qr code")
	}
	// The quiet zone is white like the card, so the symbol may use nearly the
	// full width.
	module := min((CardWidth-2*qrMargin)/n, (CardHeight-textHeight)/n)
	if module < minModule {
		return cardLayout{}, fmt.Errorf("laying out card: qr code of %d modules too large for the card", n)
	}
	qrSize := module * n

	// Centre the whole column vertically in what is left.
	spare := CardHeight - textHeight - qrSize
	y := topMargin + spare/2

	l := cardLayout{qr: modules, module: module}
	l.boxes = append(l.boxes, box{r: image.Rect(sideMargin, y, sideMargin+160, y+accentBar), col: colAccent})
	y += accentBar + accentGap
	place := func(b block) {
		y += b.gapBefore
		x := sideMargin
		if b.note {
			l.boxes = append(l.boxes, box{
				r:   image.Rect(sideMargin-noteInset/2, y, CardWidth-sideMargin+noteInset/2, y+b.height()+2*noteInset),
				col: colNoteBox,
			})
			y += noteInset
			x += noteInset / 2
		}
		lh := lineHeight(b.face)
		asc := b.face.Metrics().Ascent.Ceil()
		for _, s := range b.lines {
			l.lines = append(l.lines, textLine{
				text:  s,
				face:  b.face,
				col:   b.col,
				dot:   fixed.P(x, y+asc),
				width: font.MeasureString(b.face, s),
			})
			y += lh
		}
		if b.note {
			y += noteInset
		}
	}
	for _, b := range head {
		place(b)
	}
	y += gapAroundQR
	l.qrAt = image.Pt((CardWidth-qrSize)/2, y)
	y += qrSize + gapAroundQR
	for _, b := range foot {
		place(b)
	}
	return l, nil
}

// draw paints the layout onto img, which must be white already.
func (l cardLayout) draw(img draw.Image) {
	for _, b := range l.boxes {
		draw.Draw(img, b.r, image.NewUniform(b.col), image.Point{}, draw.Src)
	}
	dark := image.NewUniform(colModule)
	for my, row := range l.qr {
		for mx, on := range row {
			if !on {
				continue
			}
			r := image.Rect(0, 0, l.module, l.module).Add(l.qrAt.Add(image.Pt(mx*l.module, my*l.module)))
			draw.Draw(img, r, dark, image.Point{}, draw.Src)
		}
	}
	for _, t := range l.lines {
		dr := font.Drawer{Dst: img, Src: image.NewUniform(t.col), Face: t.face, Dot: t.dot}
		dr.DrawString(t.text)
	}
}

// formatPatientName turns a DICOM PN value such as "DOE^JOHN^Q^DR^JR" into
// "DOE, DR JOHN Q JR". Only the first value and its alphabetic group (before
// any "=") are used: the Go fonts have no ideographic glyphs.
func formatPatientName(pn string) string {
	pn, _, _ = strings.Cut(pn, `\`)
	pn, _, _ = strings.Cut(pn, "=")
	parts := strings.Split(pn, "^")
	for i := range parts {
		parts[i] = strings.Join(strings.Fields(parts[i]), " ")
	}
	get := func(i int) string {
		if i < len(parts) {
			return parts[i]
		}
		return ""
	}
	family := get(0)
	var rest []string
	for _, i := range []int{3, 1, 2, 4} { // prefix, given, middle, suffix
		if s := get(i); s != "" {
			rest = append(rest, s)
		}
	}
	switch {
	case family == "" && len(rest) == 0:
		return "Name not recorded"
	case family == "":
		return strings.Join(rest, " ")
	case len(rest) == 0:
		return family
	}
	return family + ", " + strings.Join(rest, " ")
}

// formatStudyDate turns a DICOM DA value YYYYMMDD into YYYY-MM-DD. The old
// ACR-NEMA form YYYY.MM.DD is accepted too; anything else is shown as given.
func formatStudyDate(da string) string {
	da = strings.TrimSpace(da)
	if t, err := time.Parse("20060102", strings.ReplaceAll(da, ".", "")); err == nil {
		return t.Format("2006-01-02")
	}
	return da
}

// studyLine is the card's study line: date and description, either may be
// missing.
func studyLine(da, description string) string {
	date := formatStudyDate(da)
	description = strings.TrimSpace(description)
	switch {
	case date == "" && description == "":
		return ""
	case date == "":
		return "Study: " + description
	case description == "":
		return "Study: " + date
	}
	return "Study: " + date + " — " + description
}

// formatExpires formats t in its own location as "2026-12-01 14:05 UTC".
// Zone abbreviations are ambiguous (IST, CST), so any zone but UTC also gets
// its offset: "2026-12-01 15:05 CET (UTC+01:00)".
func formatExpires(t time.Time) string {
	s := t.Format("2006-01-02 15:04")
	name, offset := t.Zone()
	if name == "UTC" && offset == 0 {
		return s + " UTC"
	}
	utc := "UTC" + t.Format("-07:00")
	if name == "" || name[0] == '+' || name[0] == '-' {
		return s + " " + utc
	}
	return s + " " + name + " (" + utc + ")"
}

// cleanText collapses white space and control characters to single spaces,
// drops invisible formatting characters, and replaces characters the face
// has no glyph for with "?", so that the card never shows an empty box.
func cleanText(face font.Face, s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = b.Len() > 0
			continue
		}
		if unicode.Is(unicode.Cf, r) { // invisible: zero-width space, direction marks
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if _, ok := face.GlyphAdvance(r); !ok {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ellipsis ends text that was shortened.
const ellipsis = "…"

// wrap breaks s into lines no wider than width when drawn with face. Words
// wider than a line are broken between characters. If more than maxLines
// lines would be needed, the last line kept ends with an ellipsis.
func wrap(face font.Face, s string, width fixed.Int26_6, maxLines int) []string {
	fits := func(s string) bool { return font.MeasureString(face, s) <= width }
	var lines []string
	cur := ""
	for _, word := range strings.Fields(s) {
		if cur != "" && fits(cur+" "+word) {
			cur += " " + word
			continue
		}
		if cur != "" {
			lines = append(lines, cur)
			cur = ""
		}
		for !fits(word) {
			head := longestFittingPrefix(word, fits)
			lines = append(lines, head)
			word = word[len(head):]
		}
		cur = word
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	if len(lines) <= maxLines {
		return lines
	}
	lines = lines[:maxLines]
	last := lines[maxLines-1]
	for last != "" && !fits(last+ellipsis) {
		_, size := utf8.DecodeLastRuneInString(last)
		last = last[:len(last)-size]
	}
	lines[maxLines-1] = strings.TrimRight(last, " ") + ellipsis
	return lines
}

// longestFittingPrefix returns the longest non-empty prefix of word that
// fits; at least one character, so that wrapping always progresses.
func longestFittingPrefix(word string, fits func(string) bool) string {
	_, first := utf8.DecodeRuneInString(word)
	end := first
	for i, r := range word {
		next := i + utf8.RuneLen(r)
		if i > 0 && !fits(word[:next]) {
			break
		}
		end = next
	}
	return word[:end]
}
