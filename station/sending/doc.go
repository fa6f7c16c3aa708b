// Package sending is the sender station's page: the sending site's web
// face of package send, served by `sender station` through package
// station (which does the listening, TLS, login and CSRF checks).
//
// Staff find the study (in the PACS by patient ID, name and date, in a
// folder or on a medium of the station, or in a zip uploaded from the
// browser), read the summary that `sender send` prints and its refusals in
// plain words, choose the options (expiry, passcode, report, keep), and
// send. The card then fills the screen, for the patient to photograph with
// their own phone, to print on an A6 card or to download. The live offers
// show where each stands, from the spool's records and the events of the
// page's own `sender serve` (Page.Run); an offer can be revoked.
//
// The page is plain HTML (html/template), one script and one style sheet,
// all embedded. Its JSON API, under api/:
//
//	GET  api/state?since=N        the live state (station.Board): offers, sends, the serve
//	POST api/search               {patient_id, name, date} → the PACS's studies (QIDO-RS)
//	POST api/prepare              {pacs_uid} or {path} → a draft: the study read and checked
//	POST api/upload               multipart "zip" → a draft
//	POST api/choose               {draft, study} or {draft, all} → the draft, one study picked
//	POST api/send                 multipart: draft, expires, passcode, passcode_value, keep, report
//	GET  api/card/{offer}.png     the card (no-store); print/{offer} the A6 page
//	POST api/revoke               {offer}
//	GET  api/offers/{offer}/audit the offer's audit events
//
// Secrets: the card's URI never leaves the server but drawn in the card's
// image, which is kept in memory only and served to the logged-in page by
// offer ID (not secret: it is printed on the card). A passcode is answered
// once, in the answer to the POST that chose it, and kept nowhere.
package sending
