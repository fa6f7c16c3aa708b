package station

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"strings"

	"imageshare/audit"
)

//go:embed assets
var assets embed.FS

var loginPage = template.Must(template.ParseFS(assets, "assets/login.html"))

// CSP is the Content-Security-Policy of every answer: everything from the
// station itself, no inline script or style, camera frames and blobs for
// the card reader, PDF reports in a frame of the page's own origin.
const CSP = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; " +
	"object-src 'self'; frame-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'self'"

// Token is the CSRF token of r's session, for the page to send back with
// every request that changes something (the X-CSRF-Token header, or a
// form field named csrf).
func Token(r *http.Request) string {
	if s := sessionOf(r.Context()); s != nil {
		return s.csrf
	}
	return ""
}

// User is who is logged in on r's session: "" on a station without a
// login.
func User(r *http.Request) string {
	if s := sessionOf(r.Context()); s != nil {
		return s.user
	}
	return ""
}

func (s *Server) cookieName() string {
	if s.tls != nil {
		return "__Host-imageshare-station" // Secure, Path=/, no Domain: the browser insists
	}
	return "imageshare-station"
}

func (s *Server) setCookie(w http.ResponseWriter, id string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: id, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.tls != nil, SameSite: http.SameSiteStrictMode})
}

func (s *Server) routes(app http.Handler) http.Handler {
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /static/station/", http.StripPrefix("/static/station/", http.FileServerFS(static)))
	mux.HandleFunc("GET /login", s.loginForm)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)
	mux.Handle("/", s.requireLogin(app))
	return s.headers(s.checkHost(s.session(mux)))
}

// headers sets the security headers of every answer.
func (s *Server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "SAMEORIGIN")
		h.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// checkHost refuses, on loopback, a Host that is not loopback: a page
// elsewhere that rebinds its own name to 127.0.0.1 would otherwise be of
// the station's origin.
func (s *Server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.loopback {
			host := r.Host
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			if !isLoopback(strings.Trim(host, "[]")) {
				http.Error(w, "this station answers only at "+s.url, http.StatusMisdirectedRequest)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// session gives every browser a session, and refuses a request that
// changes something without the session's CSRF token.
func (s *Server) session(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sess *session
		if c, err := r.Cookie(s.cookieName()); err == nil {
			sess = s.sessions.get(c.Value)
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			token := r.Header.Get("X-CSRF-Token")
			if token == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
				r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
				token = r.PostFormValue("csrf")
			}
			if !tokenMatches(sess, token) {
				httpError(w, r, http.StatusForbidden, "this request did not come from the station's own page (no valid CSRF token): reload the page and try again")
				return
			}
		}
		if sess == nil {
			sess = s.sessions.start("", "")
			s.setCookie(w, sess.id, 0)
		}
		next.ServeHTTP(w, r.WithContext(withSession(r.Context(), sess)))
	})
}

// requireLogin sends a browser that has not logged in to the login page,
// and answers 401 to its scripts.
func (s *Server) requireLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.users != nil && User(r) == "" {
			if r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html") {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			httpError(w, r, http.StatusUnauthorized, "log in first")
			return
		}
		next.ServeHTTP(w, r)
	})
}

type loginData struct {
	Name, CSRF, Error, User string
	NoLogin                 bool
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	s.showLogin(w, r, http.StatusOK, "")
}

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = loginPage.Execute(w, loginData{Name: s.cfg.Name, CSRF: Token(r), Error: msg, User: User(r), NoLogin: s.users == nil})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.users == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	user, password := strings.TrimSpace(r.PostFormValue("user")), r.PostFormValue("password")
	addr, _, _ := net.SplitHostPort(r.RemoteAddr)
	keys := []string{"user:" + user, "addr:" + addr}
	if s.sessions.locked(keys...) {
		s.showLogin(w, r, http.StatusTooManyRequests, "Too many failed logins: wait a minute, then try again.")
		return
	}
	err := s.users.check(user, password)
	s.cfg.Trail.Record(audit.UserAuthentication(audit.Participant{User: user, Address: addr}, s.cfg.Me, "", err))
	if err != nil {
		s.sessions.failed(keys...)
		s.showLogin(w, r, http.StatusUnauthorized, "Wrong name or password.")
		return
	}
	s.sessions.succeeded(keys...)
	var old string
	if sess := sessionOf(r.Context()); sess != nil {
		old = sess.id
	}
	sess := s.sessions.start(old, user)
	s.setCookie(w, sess.id, 0)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if sess := sessionOf(r.Context()); sess != nil {
		s.sessions.end(sess.id)
	}
	s.setCookie(w, "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// httpError answers a script with {"error": msg} and a person with text.
func httpError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		http.Error(w, msg, status)
		return
	}
	WriteJSONError(w, status, errors.New(msg))
}
