// Package card is the QR "card" that travels with the patient from the
// sending hospital to the receiving one: the URI it carries (uri.go: where
// the sender is, which offer, until when, and the secret that opens it), the
// images it is shown as, and the reading of a photo of it.
//
// The images:
//
//   - WritePNG draws the card as a 1080×1920 portrait PNG for a phone screen
//     or a printer: title, patient, study, sending site, a QR code as wide as
//     the card, the expiry, the passcode notice and a note for the patient.
//   - TerminalQR draws the QR code alone with Unicode half blocks, black on
//     white whatever the terminal's theme; TerminalQRPlain without escape
//     sequences, for a console that cannot interpret them.
//   - DecodeImage reads the QR code back from a PNG or JPEG, such as a
//     hurried phone photo of the card.
//
// The URI keeps to the QR alphanumeric character set (upper case, digits and
// a few symbols) so that the encoder packs it at 5.5 bits a character: a
// 265-character URI is a version 10 code (57×57 modules) at error correction
// level M, which QRVersion reports.
package card
