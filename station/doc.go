// Package station serves the stations' web pages: the trauma center's
// (station/receiving) and the sending site's (station/sending). It is the
// part both share, and the part that keeps a page a hospital can leave
// running: where it listens, who may use it, and what a browser may do
// with it.
//
//   - Loopback by default. Bound to any other address, a station needs TLS
//     (a certificate and key given, or a self-signed one made on first start
//     and kept in the station's folder, its SHA-256 fingerprint printed so
//     that staff can check it) and a login against a password file of
//     Argon2id hashes (SetPassword writes one). New refuses to start
//     otherwise, saying why (*RefusedError).
//   - Every browser gets a session cookie (HttpOnly, SameSite=Strict, and
//     Secure over TLS); a login starts a new session. Every request that
//     changes something (any method but GET and HEAD) must carry the
//     session's CSRF token, in the X-CSRF-Token header or a csrf form field.
//   - On loopback, the Host header must name loopback, so that a web page
//     elsewhere cannot reach the station through a DNS name it rebinds to
//     127.0.0.1.
//   - Every answer carries a Content-Security-Policy that allows scripts,
//     styles, images and connections from the station alone, and no inline
//     script; the page is never framed by another origin, sends no Referer,
//     and its answers are not cached (the static files aside).
//
// The pages themselves are http.Handlers given to New: they see only
// requests that passed these checks, and Token gives them the CSRF token
// to put in the page. The shared static files (station.css, station.js and
// the vendored jsQR decoder) are served under /static/station/.
package station
