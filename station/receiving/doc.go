// Package receiving is the receiver station's page: the trauma center's
// face of package receive, as cmd/receiver is its command line.
//
// The page reads the card (the station's camera, decoded in the browser;
// a USB 2D scanner typing into a text field, or a paste; a photo decoded
// here with card.DecodeImage), shows who and what the study is and asks
// staff whether it is their patient, with the local values for the PACS;
// then it shows the study arriving, series by series with a thumbnail of
// each, the report, the import into the PACS, and the studies this
// station received before (from the audit trail).
//
// The work is package receive's: receive.Fetch runs in a goroutine, its
// questions (Options.Confirm, Options.Passcode) wait for the page's
// answer, and its events update one State that the page polls
// (GET api/state?since=N answers once the state's version is past N).
// One fetch runs at a time. Failures are said with receive.Explain, the
// same cases the command line maps to its exit codes.
//
// The card's text reaches the server only in a POST body and stays
// there: it is never put in a URL, the state, a log line or the audit
// trail. The passcode likewise. The handler expects to be served by
// package station, which checks the login, the CSRF token of every POST
// and the Host header, and sets the Content-Security-Policy; the page
// therefore has no inline script or style.
//
// The API, under the page's root:
//
//	GET  /                      the page
//	GET  /static/receiving/…    its script and style
//	GET  api/state?since=N      State, once its Version > N (or after ~20 s)
//	GET  api/history            the studies received on this station
//	GET  api/thumb/N.png        series N's thumbnail (N as in State.Series)
//	GET  api/report             the report, once the study is verified
//	POST api/card               {"text": "IMAGESHARE:V1:…"}: fetch this card
//	POST api/photo              a photo of the card (multipart "photo")
//	POST api/passcode           {"passcode": "…"}, or {"cancel": true}
//	POST api/confirm            {"receive": true|false, "local": {…}}
//	POST api/cancel             stop the fetch under way
//	POST api/import             store the study received in the PACS again
//	POST api/reset              back to reading a card
package receiving
