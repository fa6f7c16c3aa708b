package station

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"sync"
	"time"
)

// Session lifetimes: a login lasts a shift of idle time and a day at
// most; a browser that has not logged in keeps its session (and CSRF
// token) for the same idle time.
const (
	idleTimeout  = 12 * time.Hour
	maxLifetime  = 24 * time.Hour
	maxSessions  = 10000
	maxFailures  = 5                // failed logins in a row, per name and per address…
	lockoutDelay = 60 * time.Second // …before the next is refused for this long
)

type session struct {
	id, csrf      string
	user          string // "" until a login
	created, seen time.Time
}

// sessions are the browsers a station knows, by cookie, and the failed
// logins it counts.
type sessions struct {
	mu       sync.Mutex
	byID     map[string]*session
	failures map[string]*failures
	now      func() time.Time
}

type failures struct {
	count int
	until time.Time // refused until then
}

func newSessions() *sessions {
	return &sessions{byID: map[string]*session{}, failures: map[string]*failures{}, now: time.Now}
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return hex.EncodeToString(b)
}

// get is the live session of id, or nil.
func (ss *sessions) get(id string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byID[id]
	now := ss.now()
	if s == nil || now.Sub(s.seen) > idleTimeout || now.Sub(s.created) > maxLifetime {
		delete(ss.byID, id)
		return nil
	}
	s.seen = now
	c := *s
	return &c
}

// start makes a new session for user ("" for none yet), ending old's.
func (ss *sessions) start(old, user string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.byID, old)
	now := ss.now()
	if len(ss.byID) >= maxSessions {
		for id, s := range ss.byID {
			if now.Sub(s.seen) > idleTimeout || now.Sub(s.created) > maxLifetime {
				delete(ss.byID, id)
			}
		}
		for id := range ss.byID { // still full: drop one at random
			if len(ss.byID) < maxSessions {
				break
			}
			delete(ss.byID, id)
		}
	}
	s := &session{id: randomToken(), csrf: randomToken(), user: user, created: now, seen: now}
	ss.byID[s.id] = s
	c := *s
	return &c
}

func (ss *sessions) end(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.byID, id)
}

// locked reports whether logins for any of keys are refused for now.
func (ss *sessions) locked(keys ...string) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for _, k := range keys {
		if f := ss.failures[k]; f != nil && ss.now().Before(f.until) {
			return true
		}
	}
	return false
}

// failed counts a failed login against each of keys.
func (ss *sessions) failed(keys ...string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for _, k := range keys {
		f := ss.failures[k]
		if f == nil {
			if len(ss.failures) > maxSessions {
				ss.failures = map[string]*failures{}
			}
			f = &failures{}
			ss.failures[k] = f
		}
		f.count++
		if f.count >= maxFailures {
			f.count, f.until = 0, ss.now().Add(lockoutDelay)
		}
	}
}

func (ss *sessions) succeeded(keys ...string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for _, k := range keys {
		delete(ss.failures, k)
	}
}

type ctxKey struct{}

func withSession(ctx context.Context, s *session) context.Context {
	return context.WithValue(ctx, ctxKey{}, s)
}

func sessionOf(ctx context.Context) *session {
	s, _ := ctx.Value(ctxKey{}).(*session)
	return s
}

func tokenMatches(s *session, token string) bool {
	return s != nil && token != "" && subtle.ConstantTimeCompare([]byte(s.csrf), []byte(token)) == 1
}
