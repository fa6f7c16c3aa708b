package receive

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"

	"imageshare/study"
	"imageshare/transfer"
)

// accept reports the study the manifest m describes, checks that it may
// be fetched and fits on the disk, asks, and opens the store to fetch it
// into. On a resume (the study's folder holds this manifest's files
// already) the store is opened first, so that the report says what is
// still to fetch.
func (s *session) accept(m *transfer.Manifest) error {
	dir, exists, err := transfer.FindFolder(s.o.Out, studyFolder(m), s.offer.ManifestHash)
	if err != nil {
		return err
	}
	if exists {
		if err := s.openStore(m); err != nil {
			return err
		}
	}
	toFetch := m.StoredSize()
	if s.store != nil {
		toFetch -= s.done
	}
	_, hasReport := m.Report()
	s.emit(Manifest{Site: m.Site, Studies: m.Studies, Files: len(m.Files), Bytes: m.TotalSize(), StoredBytes: m.StoredSize(),
		Report: hasReport, Seconds: s.elapsed().Seconds(), Manifest: m, ToFetch: toFetch})
	if runtime.GOOS == "windows" {
		// The study goes to Out, under dir's name, once whole.
		if final, err := filepath.Abs(filepath.Join(s.o.Out, filepath.Base(dir))); err == nil {
			if w := longPathWarning(final, m); w != "" {
				s.emit(Warning{Message: w})
			}
		}
	}
	err = s.decide(m)
	if err != nil {
		if s.store != nil {
			s.store.Close()
			s.store = nil
		}
		return err
	}
	if s.store == nil {
		if err := s.openStore(m); err != nil {
			return err
		}
	}
	s.m = m
	s.watchSeries()
	s.emit(Progress{Done: s.done, Total: m.StoredSize()})
	return nil
}

// decide is what may stop the fetch before anything is fetched: the
// face's check, the free space, the question.
func (s *session) decide(m *transfer.Manifest) error {
	if s.o.CheckOffer != nil {
		if err := s.o.CheckOffer(m); err != nil {
			return stop(err)
		}
	}
	if err := s.checkSpace(m); err != nil {
		return err
	}
	if s.o.Confirm == nil {
		return nil
	}
	var ok bool
	err := s.ask(func() (err error) { ok, err = s.o.Confirm(m); return err })
	if err != nil {
		return stop(err)
	}
	if !ok {
		return ErrDeclined
	}
	return nil
}

// openStore claims the study's folder and finds what an earlier fetch
// into it verified already. Only a folder that holds this very manifest's
// files is resumed into; the name alone comes from the card.
func (s *session) openStore(m *transfer.Manifest) error {
	dir, err := transfer.ClaimFolder(s.o.Out, studyFolder(m), s.offer.ManifestHash)
	if err != nil {
		return err
	}
	st, err := transfer.OpenStore(dir, m)
	if err != nil {
		if errors.Is(err, transfer.ErrFolderBusy) {
			return fmt.Errorf("%w into %s", err, s.o.Out)
		}
		return err
	}
	reused, err := st.Resume()
	if err != nil {
		st.Close()
		return err
	}
	var have int64
	done := make([]bool, len(m.Chunks))
	for i := range done {
		done[i] = true
	}
	for _, i := range st.Need() {
		done[i] = false
	}
	for i, c := range m.Chunks {
		if done[i] {
			have += c.Stored
		}
	}
	s.store, s.reused, s.done = st, reused, have
	return nil
}

// checkSpace refuses, before anything is asked or fetched, a study that
// does not fit on the disk of Out: what the study's folder already holds
// from an earlier run does not count.
func (s *session) checkSpace(m *transfer.Manifest) error {
	dir, _, err := transfer.FindFolder(s.o.Out, studyFolder(m), s.offer.ManifestHash)
	if err != nil {
		return err
	}
	need := transfer.StillNeeded(dir, m)
	free := s.o.FreeSpace
	if free == nil {
		free = study.FreeBytes
	}
	// Out may not exist yet: its disk is that of the nearest folder above
	// it that does.
	at := s.o.Out
	for {
		if _, err := os.Stat(at); err == nil || filepath.Dir(at) == at {
			break
		}
		at = filepath.Dir(at)
	}
	if n, ok := free(at); ok && need > 0 && uint64(need) > n {
		return fmt.Errorf("%w; free some space there, or choose another --out", &transfer.SpaceError{Dir: s.o.Out, Need: need, Free: n})
	}
	return nil
}

// checkWritable makes out if need be and writes a file in it, so that a
// folder that cannot be written is found before anyone is connected to.
func checkWritable(out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("%w into %s: %w", transfer.ErrDisk, out, err)
	}
	f, err := os.CreateTemp(out, ".imageshare-check-")
	if err != nil {
		return fmt.Errorf("%w into %s: %w", transfer.ErrDisk, out, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// studyFolder names the study's folder: its date and the offer, which stay
// the same if the same card is fetched again (transfer.ClaimFolder adds
// "-2" for another manifest under that name). No patient data goes into
// the name.
func studyFolder(m *transfer.Manifest) string {
	date := "undated"
	if len(m.Studies) > 0 && m.Studies[0].StudyDate != "" {
		date = unsafeName.ReplaceAllString(m.Studies[0].StudyDate, "_")
	}
	return fmt.Sprintf("study-%s-%s", date, m.OfferID)
}

// watchSeries reports each series as soon as all its files are verified:
// the clinician can open it while the rest arrives.
func (s *session) watchSeries() {
	m, st := s.m, s.store
	s.seriesLeft = map[string]int{}
	placed := st.Placed()
	for i, f := range m.Files {
		if f.Series != "" && !placed[i] {
			s.seriesLeft[f.Series]++
		}
	}
	info := map[string]study.Series{}
	for _, sum := range m.Studies {
		for _, se := range sum.Series {
			info[se.UID] = se
		}
	}
	st.OnFile = func(f transfer.File) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if f.Series == "" {
			return
		}
		if s.seriesLeft[f.Series]--; s.seriesLeft[f.Series] != 0 {
			return
		}
		after := s.elapsed()
		if s.firstSeries == 0 {
			s.firstSeries = after
		}
		se := info[f.Series]
		// Where the series can be opened now: the study's folder is
		// moved into place only once the whole study is verified.
		at := filepath.Join(st.Dir(), filepath.FromSlash(path.Dir(f.Path)))
		s.emit(SeriesComplete{SeriesUID: f.Series, Number: se.Number, Description: se.Description, Images: se.Images,
			Seconds: after.Seconds(), Dir: at})
	}
}
