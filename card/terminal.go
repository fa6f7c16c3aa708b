package card

import "strings"

// Terminal colours for the QR code: black (colour 16) on white (colour 231)
// from the 256-colour cube. Terminal themes remap the 16 basic colours (a dark
// theme's "white" is often grey, a light theme's "black" may be a soft tone)
// but leave the cube alone, so the code shows dark on light in every theme,
// as phone cameras expect.
const (
	termColours = "\x1b[38;5;16;48;5;231m"
	termReset   = "\x1b[0m"
)

// Half-block characters: each terminal cell shows two modules, the top and
// the bottom one, in the foreground (dark) or background (light) colour.
const (
	halfNone   = " " // both light
	halfUpper  = "▀" // top dark
	halfLower  = "▄" // bottom dark
	halfBoth   = "█" // both dark
	moduleRows = 2   // modules stacked in one character cell
)

// TerminalQR draws the QR code for uri (error correction Medium, with its
// four-module quiet zone) for a terminal, two modules to a character cell with
// Unicode half blocks. Every line sets its own colours explicitly — black on
// white with 256-colour escapes — and resets them before its newline, so that
// the code reads the same in a dark- or a light-themed terminal. The quiet
// zone is drawn with the white background, not the terminal's. A version 10
// code is 65 columns wide and 33 lines high.
func TerminalQR(uri string) (string, error) { return TerminalQRFor(uri, true) }

// TerminalQRPlain draws the QR code as TerminalQR does but with no escape
// sequence, for a console that would show them as text: the Windows
// console where virtual-terminal processing cannot be enabled (before
// Windows 10). That console shows light text on a dark background (grey on
// black unless changed), so the code is drawn inverted: the half blocks
// draw the light modules, quiet zone included, in the text colour, and the
// dark modules are the background. The half blocks themselves show there:
// Go writes to a console with WriteConsoleW, whatever its code page, and
// the console's fonts (raster, Consolas, Lucida Console) all have them,
// as the OEM code pages do.
func TerminalQRPlain(uri string) (string, error) { return TerminalQRFor(uri, false) }

// TerminalQRFor draws the QR code for a terminal that interprets escape
// sequences (vt: TerminalQR) or one that does not (TerminalQRPlain).
func TerminalQRFor(uri string, vt bool) (string, error) {
	q, err := encodeQR(uri)
	if err != nil {
		return "", err
	}
	return halfBlocks(q.Bitmap(), vt), nil
}

// halfBlocks renders modules ([y][x], true is dark) as half-block lines:
// black on white set by escapes when colours, else inverted in the
// console's own light-on-dark colours. An odd last row is paired with a
// light one, which only widens the quiet zone.
func halfBlocks(modules [][]bool, colours bool) string {
	var b strings.Builder
	for y := 0; y < len(modules); y += moduleRows {
		if colours {
			b.WriteString(termColours)
		}
		for x, top := range modules[y] {
			bottom := y+1 < len(modules) && modules[y+1][x]
			if !colours {
				// Inverted: a block is drawn where a module is light.
				top, bottom = !top, !bottom
			}
			switch {
			case top && bottom:
				b.WriteString(halfBoth)
			case top:
				b.WriteString(halfUpper)
			case bottom:
				b.WriteString(halfLower)
			default:
				b.WriteString(halfNone)
			}
		}
		if colours {
			b.WriteString(termReset)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
