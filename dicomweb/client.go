package dicomweb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode"
)

// Limits on what is read from a PACS.
const (
	// MaxJSONBytes caps a QIDO-RS or STOW-RS answer (DICOM JSON).
	MaxJSONBytes = 32 << 20
	// maxExcerpt caps the part of an error answer quoted in an error.
	maxExcerpt = 200
	// defaultPageSize is how many results a QIDO-RS request asks for.
	defaultPageSize = 1000
)

// Errors that callers tell apart.
var (
	// ErrStudyNotFound: the PACS does not have the study.
	ErrStudyNotFound = errors.New("the study is not in the PACS")
	// ErrUnavailable: the PACS did not answer, or kept answering that it
	// could not serve, after every retry.
	ErrUnavailable = errors.New("the PACS is unavailable")
)

// A Client talks to one PACS's DICOMweb API. Its methods may be called
// from several goroutines at once.
type Client struct {
	// Base is the DICOMweb root, e.g. http://127.0.0.1:8042/dicom-web. New
	// sets it without the user and password of the URL it is given.
	Base string
	// HTTP sends the requests; nil means http.DefaultClient. Its timeout,
	// if any, bounds whole retrievals and batches: prefer a context.
	HTTP *http.Client

	user *url.Userinfo // from the URL given to New, for basic auth

	// pageSize is how many results a QIDO-RS request asks for; 0 means
	// defaultPageSize. Tests make it small.
	pageSize int
	// retryDelay is the first wait before a retry, doubled at each further
	// one; 0 means 1 s. Tests make it short.
	retryDelay time.Duration
}

// New returns a client for the DICOMweb root base, an http or https URL.
// A user and password in base are sent as basic authentication, never
// shown. hc sends the requests; nil means http.DefaultClient.
func New(base string, hc *http.Client) (*Client, error) {
	u, err := parseBase(base)
	if err != nil {
		return nil, err
	}
	user := u.User
	u.User = nil
	return &Client{Base: u.String(), HTTP: hc, user: user}, nil
}

// parseBase checks a DICOMweb root; its errors show no password.
// ErrPasswordInURL: a DICOMweb root given on a command line carries a
// password, which every user of the computer can read there. The
// commands take the password from a file, --dicomweb-credentials.
var ErrPasswordInURL = errors.New("the URL carries a password, which other users of this computer can read on the command line; put user:password in a file readable only by you and give --dicomweb-credentials FILE")

// CheckRoot checks a DICOMweb root as typed on a command line: an http or
// https URL that New accepts, and without a password (see
// WithCredentials). Its errors never show a password.
func CheckRoot(base string) error {
	u, err := parseBase(base)
	if err != nil {
		return err
	}
	if _, set := u.User.Password(); set {
		return ErrPasswordInURL
	}
	return nil
}

func parseBase(base string) (*url.URL, error) {
	u, err := url.Parse(base)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error quotes the whole URL, password included
		}
		return nil, fmt.Errorf("the DICOMweb root %s is not a valid URL: %v", redactRaw(base), err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("the DICOMweb root %s: want an http or https URL", redactRaw(base))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("the DICOMweb root %s: no host", redactRaw(base))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("the DICOMweb root %s: want no query or fragment", redactRaw(base))
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// redactURL is u without its user info, to show in errors.
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

// redactRaw cuts the user info out of a URL, one that may not parse, to
// show in errors.
func redactRaw(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		if strings.Contains(raw, "@") {
			return "(not shown: it may hold a password)"
		}
		return fmt.Sprintf("%q", raw)
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
		rest = rest[at+1:]
	}
	return fmt.Sprintf("%q", scheme+"://"+rest)
}

// newRequest builds a request for path under the root, with basic auth
// when the root has a user. The request's URL holds no user info, so no
// error made from it shows one.
func (c *Client) newRequest(ctx context.Context, method, path string, query url.Values, body io.Reader) (*http.Request, error) {
	u, err := parseBase(c.Base)
	if err != nil {
		return nil, err
	}
	user := c.user
	if u.User != nil { // a Client made without New
		user, u.User = u.User, nil
	}
	u.Path += path
	if query != nil {
		u.RawQuery = query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, redactURL(u), err)
	}
	if user != nil {
		pass, _ := user.Password()
		req.SetBasicAuth(user.Username(), pass)
	}
	req.Header.Set("User-Agent", "imageshare-dicomweb/1")
	return req, nil
}

// do sends req. Its errors name the method and URL, and say nothing twice.
func (c *Client) do(req *http.Request) (*http.Response, error) {
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
	}
	return resp, nil
}

// A StatusError is an answer whose HTTP status is not a success.
type StatusError struct {
	Method     string
	URL        string // without user info
	StatusCode int
	Status     string // e.g. "404 Not Found"
	Excerpt    string // the start of the answer's body, at most 200 bytes
}

// Error says which request got which status, and how the answer began.
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s %s: HTTP %s", e.Method, e.URL, e.Status)
	if e.Excerpt != "" {
		msg += ": " + e.Excerpt
	}
	return msg
}

// statusError reads an excerpt of resp's body, and closes it.
func statusError(resp *http.Response) *StatusError {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxExcerpt))
	status := resp.Status
	if status == "" {
		status = fmt.Sprint(resp.StatusCode)
	}
	return &StatusError{
		Method:     resp.Request.Method,
		URL:        resp.Request.URL.String(),
		StatusCode: resp.StatusCode,
		Status:     status,
		Excerpt:    excerpt(b),
	}
}

// excerpt makes text of a body's start fit in one line of an error.
func excerpt(b []byte) string {
	s := strings.ToValidUTF8(string(b), "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// readLimited reads r whole, failing past max bytes.
func readLimited(r io.Reader, max int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s exceeds the maximum of %d bytes", what, max)
	}
	return b, nil
}

// validUID reports whether uid is a DICOM UID (PS3.5 9.1): digits and
// dots, at most 64 characters. UIDs go into URL paths: anything else could
// change the request.
func validUID(uid string) bool {
	if uid == "" || len(uid) > 64 {
		return false
	}
	for i := 0; i < len(uid); i++ {
		if (uid[i] < '0' || uid[i] > '9') && uid[i] != '.' {
			return false
		}
	}
	return true
}

func checkStudyUID(uid string) error {
	if !validUID(uid) {
		return fmt.Errorf("study instance UID %q: want digits and dots, at most 64", uid)
	}
	return nil
}

// WithCredentials returns base with the user and password read from file,
// which holds one line "user:password", for HTTP basic authentication.
// The password goes no further than the Client: it never appears in Base,
// an error or a result. An empty file name returns base as it is.
func WithCredentials(base, file string) (string, error) {
	if file == "" {
		return base, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	user, pass, ok := strings.Cut(strings.TrimSpace(line), ":")
	if !ok || user == "" {
		return "", fmt.Errorf("%s: want one line user:password", file)
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", errors.New("the PACS URL is not a URL")
	}
	u.User = url.UserPassword(user, pass)
	return u.String(), nil
}
