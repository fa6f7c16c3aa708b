package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

var errRefused = errors.New("the process cannot access the file because it is being used by another process")

func refused(err error) bool { return errors.Is(err, errRefused) }

// TestRetryRename: a rename refused while another process has the file
// open is tried again, with doubling delays, until it succeeds or about
// two seconds have passed; any other error ends it at once.
func TestRetryRename(t *testing.T) {
	for _, tt := range []struct {
		name    string
		fails   int   // refusals before it succeeds; -1: always
		other   error // returned on the first try instead
		tries   int
		delays  []time.Duration
		wantErr error
	}{
		{name: "at once", tries: 1},
		{name: "refused once", fails: 1, tries: 2, delays: []time.Duration{10 * time.Millisecond}},
		{name: "refused thrice", fails: 3, tries: 4, delays: ms(10, 20, 40)},
		{name: "other error", other: os.ErrNotExist, tries: 1, wantErr: os.ErrNotExist},
		{name: "always refused", fails: -1, tries: 10, delays: ms(10, 20, 40, 80, 160, 320, 500, 500, 500), wantErr: errRefused},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tries := 0
			var delays []time.Duration
			err := retry(func() error {
				tries++
				switch {
				case tt.other != nil:
					return tt.other
				case tt.fails < 0 || tries <= tt.fails:
					return errRefused
				}
				return nil
			}, refused, func(d time.Duration) { delays = append(delays, d) })
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
			if tries != tt.tries || !slices.Equal(delays, tt.delays) {
				t.Errorf("%d tries after delays %v, want %d after %v", tries, delays, tt.tries, tt.delays)
			}
			var sum time.Duration
			for _, d := range delays {
				sum += d
			}
			if sum > retryFor+maxDelay {
				t.Errorf("waited %v in all, more than about %v", sum, retryFor)
			}
		})
	}
}

func ms(ns ...int) []time.Duration {
	var ds []time.Duration
	for _, n := range ns {
		ds = append(ds, time.Duration(n)*time.Millisecond)
	}
	return ds
}

// TestRenameReplaces: Rename replaces a file, as os.Rename does.
func TestRenameReplaces(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := os.WriteFile(a, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Rename(a, b); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(b); err != nil || string(got) != "new" {
		t.Errorf("b holds %q, %v; want new", got, err)
	}
	if err := Rename(a, b); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("renaming a gone file: %v, want not exist at once", err)
	}
}
