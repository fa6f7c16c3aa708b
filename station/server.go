package station

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"imageshare/audit"
)

// Config says where a station listens and who may use it.
type Config struct {
	// Name is the station as people see it: "receiver station" or
	// "sender station".
	Name string
	// Listen is the address to listen on, host:port. A host that is not
	// loopback needs TLS and a password file.
	Listen string
	// CertFile and KeyFile are the TLS certificate and its key, PEM.
	CertFile, KeyFile string
	// SelfSigned, without CertFile, makes a self-signed certificate on
	// first start and keeps it in Dir (station-cert.pem, station-key.pem)
	// for the next starts, so that its fingerprint stays the same.
	SelfSigned bool
	// Dir is the station's folder, for the self-signed certificate.
	Dir string
	// PasswordFile lists who may log in: lines of "name:$argon2id$…", as
	// SetPassword writes them. Empty: no login (loopback only).
	PasswordFile string
	// Trail records each login, refused or not (a User Authentication
	// event); Me is this station in it. A nil Trail records nothing.
	Trail *audit.Trail
	Me    audit.Participant
	// ErrorLog receives the HTTP server's own complaints (a failed TLS
	// handshake, say); nil discards them.
	ErrorLog io.Writer
}

// RefusedError is why a station will not start: a listening address
// other than loopback without TLS or without a login, or a certificate or
// password file that cannot be used.
type RefusedError struct {
	Reason string
}

func (e *RefusedError) Error() string { return e.Reason }

// Server is a station's HTTP server, listening once New returns.
type Server struct {
	cfg         Config
	ln          net.Listener
	url         string
	fingerprint string
	madeCert    bool // the self-signed certificate was made by this start
	tls         *tls.Config
	loopback    bool
	users       *passwords // nil: no login
	sessions    *sessions
	handler     http.Handler
}

// New checks the configuration, loads or makes the certificate, reads
// the password file and starts listening; Serve answers. app is the page:
// it sees only requests that passed the login and CSRF checks.
func New(c Config, app http.Handler) (*Server, error) {
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return nil, &RefusedError{fmt.Sprintf("--listen %q: give host:port, e.g. 127.0.0.1:7480", c.Listen)}
	}
	s := &Server{cfg: c, loopback: isLoopback(host), sessions: newSessions()}
	if !s.loopback {
		var missing []string
		if c.CertFile == "" && !c.SelfSigned {
			missing = append(missing, "TLS (--cert FILE --key FILE, or --self-signed to make a certificate)")
		}
		if c.PasswordFile == "" {
			missing = append(missing, "a login (--password-file FILE, made with `station password`)")
		}
		if len(missing) > 0 {
			return nil, &RefusedError{fmt.Sprintf("%s is not a loopback address: anyone on the network could reach the %s, so it needs %s",
				c.Listen, c.Name, strings.Join(missing, " and "))}
		}
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return nil, &RefusedError{"give --cert and --key together"}
	}
	switch {
	case c.CertFile != "":
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, &RefusedError{fmt.Sprintf("the certificate %s and key %s: %v", c.CertFile, c.KeyFile, err)}
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.fingerprint = Fingerprint(cert.Certificate[0])
	case c.SelfSigned:
		cert, made, err := selfSigned(c.Dir, c.Name, host)
		if err != nil {
			return nil, &RefusedError{"the self-signed certificate: " + err.Error()}
		}
		s.madeCert = made
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.fingerprint = Fingerprint(cert.Certificate[0])
	}
	if c.PasswordFile != "" {
		if s.users, err = readPasswords(c.PasswordFile); err != nil {
			return nil, &RefusedError{err.Error()}
		}
	}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return nil, &RefusedError{fmt.Sprintf("cannot listen on %s: %v", c.Listen, err)}
	}
	s.ln = ln
	s.url = stationURL(s.tls != nil, host, ln.Addr())
	s.handler = s.routes(app)
	return s, nil
}

// isLoopback reports whether host names only this machine's loopback.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// stationURL is the address staff open: the host given, or this
// machine's name when it listens on every address.
func stationURL(secure bool, host string, addr net.Addr) string {
	scheme := "http"
	if secure {
		scheme = "https"
	}
	port := strconv.Itoa(addr.(*net.TCPAddr).Port)
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if name, err := os.Hostname(); err == nil {
			host = name
		} else {
			host = "localhost"
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/"
}

// URL is where the station answers, e.g. http://127.0.0.1:7480/.
func (s *Server) URL() string { return s.url }

// Serve answers until ctx is done, then lets requests under way end (a
// page's long polls end with ctx) and returns nil.
func (s *Server) Serve(ctx context.Context) error {
	errLog := s.cfg.ErrorLog
	if errLog == nil {
		errLog = io.Discard
	}
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(errLog, "", 0),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	ln := s.ln
	if s.tls != nil {
		ln = tls.NewListener(ln, s.tls)
	}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shut); err != nil {
		hs.Close()
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close stops listening, for a server never served.
func (s *Server) Close() error { return s.ln.Close() }

// Ready is what a station reports once it listens: its address, and the
// fingerprint of its certificate for staff to compare with what the
// browser shows (empty without TLS). NewCertificate is set when this start
// made the certificate, so browsers will ask to accept it once.
type Ready struct {
	URL            string `json:"url"`
	Fingerprint    string `json:"fingerprint,omitempty"`
	NewCertificate bool   `json:"new_certificate,omitempty"`
}

// EventType names the event: "ready".
func (Ready) EventType() string { return "ready" }

// Ready is the station's Ready event.
func (s *Server) Ready() Ready {
	return Ready{URL: s.url, Fingerprint: s.fingerprint, NewCertificate: s.madeCert}
}

// WriteText prints the event for a person: the address to open and,
// over TLS, the certificate's fingerprint.
func (r Ready) WriteText(w io.Writer, name string) {
	fmt.Fprintf(w, "%s: %s\n", name, r.URL)
	if r.Fingerprint != "" {
		fmt.Fprintf(w, "Certificate fingerprint (SHA-256): %s\n", r.Fingerprint)
		if r.NewCertificate {
			fmt.Fprintln(w, "(a new self-signed certificate: browsers will ask to accept it once; compare the fingerprint they show with this one)")
		}
	}
}
