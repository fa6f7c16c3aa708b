package station

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// page is a stand-in for a station's page: it answers GET / with the
// CSRF token and records the POSTs that reach it.
type page struct {
	mu    sync.Mutex
	posts int
}

func (p *page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		p.mu.Lock()
		p.posts++
		p.mu.Unlock()
		WriteJSON(w, http.StatusOK, map[string]string{"user": User(r)})
		return
	}
	io.WriteString(w, "token="+Token(r))
}

func (p *page) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.posts
}

// start serves a station for the test's duration.
func start(t *testing.T, c Config, app http.Handler) *Server {
	t.Helper()
	if c.Name == "" {
		c.Name = "test station"
	}
	s, err := New(c, app)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s
}

func client(t *testing.T, insecure bool) *http.Client {
	jar, _ := cookiejar.New(nil)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	return &http.Client{Jar: jar, Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Accept", "text/html")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func post(t *testing.T, c *http.Client, u, token string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("X-CSRF-Token", token)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestRefusesNetworkWithoutTLSOrLogin(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "passwords")
	if err := SetPassword(pw, "clerk", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		c    Config
		want []string
	}{
		{"neither", Config{Listen: "0.0.0.0:0"}, []string{"not a loopback address", "TLS", "--password-file"}},
		{"no TLS", Config{Listen: "0.0.0.0:0", PasswordFile: pw}, []string{"TLS (--cert FILE --key FILE, or --self-signed"}},
		{"no login", Config{Listen: "0.0.0.0:0", SelfSigned: true, Dir: t.TempDir()}, []string{"a login (--password-file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.Name = "receiver station"
			s, err := New(tc.c, &page{})
			if err == nil {
				s.Close()
				t.Fatal("a station on every address started without TLS or a login")
			}
			var refused *RefusedError
			if !errors.As(err, &refused) {
				t.Fatalf("error %T, want *RefusedError: %v", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not say %q", err, w)
				}
			}
			if tc.name == "no TLS" && strings.Contains(err.Error(), "--password-file") {
				t.Errorf("%q asks for a login that was given", err)
			}
		})
	}
}

func TestCSRF(t *testing.T) {
	p := &page{}
	s := start(t, Config{Listen: "127.0.0.1:0"}, p)
	c := client(t, false)
	// Another site's form, or a script without the page's token.
	if code := post(t, c, s.URL()+"api/card", ""); code != http.StatusForbidden {
		t.Errorf("POST without a session: %d, want 403", code)
	}
	_, body := get(t, c, s.URL())
	token := strings.TrimPrefix(body, "token=")
	if len(token) != 64 {
		t.Fatalf("page got token %q", token)
	}
	if code := post(t, c, s.URL()+"api/card", ""); code != http.StatusForbidden {
		t.Errorf("POST without the token: %d, want 403", code)
	}
	if code := post(t, c, s.URL()+"api/card", strings.Repeat("0", 64)); code != http.StatusForbidden {
		t.Errorf("POST with a wrong token: %d, want 403", code)
	}
	// Another browser's token is not this one's.
	other := client(t, false)
	_, otherBody := get(t, other, s.URL())
	if code := post(t, c, s.URL()+"api/card", strings.TrimPrefix(otherBody, "token=")); code != http.StatusForbidden {
		t.Errorf("POST with another session's token: %d, want 403", code)
	}
	if p.count() != 0 {
		t.Fatalf("%d refused POSTs reached the page", p.count())
	}
	if code := post(t, c, s.URL()+"api/card", token); code != http.StatusOK {
		t.Errorf("POST with the token: %d, want 200", code)
	}
	if p.count() != 1 {
		t.Errorf("the page got %d POSTs, want 1", p.count())
	}
}

func TestHeaders(t *testing.T) {
	s := start(t, Config{Listen: "127.0.0.1:0"}, &page{})
	res, err := http.Get(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	csp := res.Header.Get("Content-Security-Policy")
	for _, w := range []string{"default-src 'self'", "frame-ancestors 'self'", "base-uri 'none'"} {
		if !strings.Contains(csp, w) {
			t.Errorf("CSP %q lacks %q", csp, w)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows inline scripts: %q", csp)
	}
	if res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("Cache-Control %q, Referrer-Policy %q", res.Header.Get("Cache-Control"), res.Header.Get("Referrer-Policy"))
	}
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		cookie = c
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict", cookie)
	}
	// The shared files are served, jsQR among them.
	for _, f := range []string{"station.js", "station.css", "vendor/jsqr/jsQR.js"} {
		res, err := http.Get(s.URL() + "static/station/" + f)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("%s: %s", f, res.Status)
		}
	}
}

// A page elsewhere whose name resolves to 127.0.0.1 (DNS rebinding) is
// not the station's origin.
func TestLoopbackHost(t *testing.T) {
	s := start(t, Config{Listen: "127.0.0.1:0"}, &page{})
	req, _ := http.NewRequest("GET", s.URL(), nil)
	req.Host = "attacker.example:7480"
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("Host attacker.example: %s, want 421", res.Status)
	}
	req.Host = "localhost:7480"
	if res, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("Host localhost: %s", res.Status)
	}
}

func TestLoginOverTLS(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "passwords")
	if err := SetPassword(pw, "clerk", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if err := SetPassword(pw, "night-clerk", "another long password"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(pw)
	if strings.Contains(string(b), "correct horse") || strings.Count(string(b), "$argon2id$") != 2 {
		t.Fatalf("password file:\n%s", b)
	}
	if fi, _ := os.Stat(pw); fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("password file mode %v", fi.Mode())
	}
	p := &page{}
	s := start(t, Config{Listen: "127.0.0.1:0", SelfSigned: true, Dir: dir, PasswordFile: pw}, p)
	if !strings.HasPrefix(s.URL(), "https://") || !s.Ready().NewCertificate {
		t.Fatalf("URL %s, new certificate %v", s.URL(), s.Ready().NewCertificate)
	}
	c := client(t, true)
	code, _ := get(t, c, s.URL())
	if code != http.StatusSeeOther {
		t.Fatalf("GET / before login: %d, want a redirect to the login page", code)
	}
	// The certificate served is the one whose fingerprint was printed.
	conn, err := tls.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(s.URL(), "https://"), "/"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := Fingerprint(conn.ConnectionState().PeerCertificates[0].Raw); got != s.Ready().Fingerprint {
		t.Errorf("served %s, printed %s", got, s.Ready().Fingerprint)
	}
	conn.Close()

	_, form := get(t, c, s.URL()+"login")
	token := between(form, `name="csrf" value="`, `"`)
	login := func(user, password string) int {
		res, err := c.PostForm(s.URL()+"login", url.Values{"csrf": {token}, "user": {user}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := login("clerk", "wrong password!"); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", code)
	}
	if code := login("clerk", "correct horse battery"); code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	u, _ := url.Parse(s.URL())
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Value == "" || !strings.HasPrefix(ck.Name, "__Host-") {
			t.Errorf("cookie %s: want a __Host- cookie (Secure, Path=/)", ck.Name)
		}
	}
	code, body := get(t, c, s.URL())
	if code != 200 || !strings.HasPrefix(body, "token=") {
		t.Fatalf("after login: %d %q", code, body)
	}
	// A login starts a new session: the form's token is no longer valid.
	if code := post(t, c, s.URL()+"api/x", token); code != http.StatusForbidden {
		t.Errorf("the pre-login token still works: %d", code)
	}
	if code := post(t, c, s.URL()+"api/x", strings.TrimPrefix(body, "token=")); code != 200 {
		t.Errorf("POST after login: %d", code)
	}

	// The next start keeps the certificate, and its fingerprint.
	s2, err := New(Config{Name: "x", Listen: "127.0.0.1:0", SelfSigned: true, Dir: dir, PasswordFile: pw}, p)
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
	if s2.Ready().NewCertificate || s2.Ready().Fingerprint != s.Ready().Fingerprint {
		t.Errorf("second start: new %v, fingerprint %s, want %s", s2.Ready().NewCertificate, s2.Ready().Fingerprint, s.Ready().Fingerprint)
	}
}

func TestLoginLockout(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "passwords")
	if err := SetPassword(pw, "clerk", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	s := start(t, Config{Listen: "127.0.0.1:0", PasswordFile: pw}, &page{})
	c := client(t, false)
	_, form := get(t, c, s.URL()+"login")
	token := between(form, `name="csrf" value="`, `"`)
	codes := []int{}
	for i := 0; i < maxFailures+1; i++ {
		password := "guess " + strings.Repeat("x", i)
		if i == maxFailures {
			password = "correct horse battery" // right, but too late
		}
		res, err := c.PostForm(s.URL()+"login", url.Values{"csrf": {token}, "user": {"clerk"}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		codes = append(codes, res.StatusCode)
	}
	if codes[maxFailures] != http.StatusTooManyRequests {
		t.Errorf("codes %v: want the right password refused after %d failures", codes, maxFailures)
	}
	// A minute later it is let in.
	s.sessions.mu.Lock()
	s.sessions.now = func() time.Time { return time.Now().Add(lockoutDelay + time.Second) }
	s.sessions.mu.Unlock()
	res, err := c.PostForm(s.URL()+"login", url.Values{"csrf": {token}, "user": {"clerk"}, "password": {"correct horse battery"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("after the lockout: %s", res.Status)
	}
}

func TestPasswordFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("clerk:plaintext\n"), 0o600)
	_, err := New(Config{Name: "x", Listen: "127.0.0.1:0", PasswordFile: bad}, &page{})
	if err == nil || !strings.Contains(err.Error(), "line 1 (clerk)") {
		t.Errorf("a plain-text password: %v", err)
	}
	if err := SetPassword(filepath.Join(dir, "p"), "clerk", "short"); err == nil {
		t.Error("a 5-character password was taken")
	}
	if err := SetPassword(filepath.Join(dir, "p"), "a:b", "long enough password"); err == nil {
		t.Error("a name with a colon was taken")
	}
}

func TestBoard(t *testing.T) {
	b := NewBoard()
	s := start(t, Config{Listen: "127.0.0.1:0"}, b)
	got := make(chan string, 1)
	go func() {
		res, err := http.Get(s.URL() + "?since=0")
		if err != nil {
			got <- err.Error()
			return
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		got <- string(body)
	}()
	b.Set(map[string]int{"files": 3})
	if s := <-got; !strings.Contains(s, `"version":1`) || !strings.Contains(s, `"files":3`) {
		t.Errorf("poll answered %s", s)
	}
}

func between(s, a, b string) string {
	_, s, _ = strings.Cut(s, a)
	s, _, _ = strings.Cut(s, b)
	return s
}

// IT adds a login while the station runs: it works at once.
func TestPasswordFileReread(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "passwords")
	if err := SetPassword(pw, "clerk", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	s := start(t, Config{Listen: "127.0.0.1:0", PasswordFile: pw}, &page{})
	if err := SetPassword(pw, "radiographer", "a new long password"); err != nil {
		t.Fatal(err)
	}
	c := client(t, false)
	_, form := get(t, c, s.URL()+"login")
	res, err := c.PostForm(s.URL()+"login", url.Values{"csrf": {between(form, `name="csrf" value="`, `"`)}, "user": {"radiographer"}, "password": {"a new long password"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("a login added while the station runs: %s", res.Status)
	}
}
