package receiving

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"imageshare/preview"
	"imageshare/receive"
	"imageshare/study"
	"imageshare/transfer"
)

// thumbs renders a thumbnail of each series as soon as it is complete:
// its middle image, by package preview, in the background. A series is
// complete while the study is still in the incoming folder, which is
// moved into place once the whole study is verified: a thumbnail that
// could not be read there is rendered again from the study's place.
type thumbs struct {
	rn *run
	wg sync.WaitGroup

	mu     sync.Mutex
	byUID  map[string]int     // series UID → index
	files  map[int][]string   // each series' DICOM files, relative to the study's folder
	png    map[int][]byte     // rendered
	retry  map[int]bool       // to render again from the study's place
	store  string             // the study's folder in the incoming folder
	placed string             // the study's folder in place, once saved
	series []Series           // as in the state, for the index
	m      *transfer.Manifest //
}

func newThumbs(rn *run) *thumbs {
	return &thumbs{rn: rn, byUID: map[string]int{}, files: map[int][]string{}, png: map[int][]byte{}, retry: map[int]bool{}}
}

// setSeries learns the offer's series and their files.
func (t *thumbs) setSeries(m *transfer.Manifest, series []Series) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.m, t.series = m, series
	var uids []string
	for _, st := range m.Studies {
		for _, se := range st.Series {
			uids = append(uids, se.UID)
		}
	}
	for i, uid := range uids {
		t.byUID[uid] = i
	}
	for _, f := range m.Files {
		if i, ok := t.byUID[f.Series]; ok && f.Kind == study.KindDICOM {
			t.files[i] = append(t.files[i], f.Path)
		}
	}
}

// complete starts the thumbnail of the series e; it returns the series'
// index, -1 if it is not one of the offer's.
func (t *thumbs) complete(e receive.SeriesComplete) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n, ok := t.byUID[e.SeriesUID]
	if !ok || len(t.files[n]) == 0 {
		return -1
	}
	if t.store == "" {
		// e.Dir is the series' folder in the study's folder.
		t.store = e.Dir
		if d := path.Dir(t.files[n][0]); d != "." {
			for range strings.Count(d, "/") + 1 {
				t.store = filepath.Dir(t.store)
			}
		}
	}
	t.start(n, t.store)
	return n
}

// saved renders again, from the study's place, what could not be
// rendered from the incoming folder.
func (t *thumbs) saved(dir string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.placed = dir
	for n := range t.retry {
		delete(t.retry, n)
		t.start(n, dir)
	}
}

// start renders series n from the study's folder dir. t.mu is held.
func (t *thumbs) start(n int, dir string) {
	files := make([]string, len(t.files[n]))
	for i, rel := range t.files[n] {
		files[i] = filepath.Join(dir, filepath.FromSlash(rel))
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		t.render(n, dir, files)
	}()
}

func (t *thumbs) render(n int, dir string, files []string) {
	img, err := preview.Series(files)
	var buf bytes.Buffer
	if err == nil {
		err = preview.WritePNG(&buf, img)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	thumb, reason := "ready", ""
	switch {
	case err == nil:
		t.png[n] = buf.Bytes()
	case errors.Is(err, preview.ErrNoPreview):
		thumb, reason = "none", noPreviewReason(err)
	case dir != t.placed && t.placed != "":
		t.start(n, t.placed)
		return
	case dir != t.placed:
		t.retry[n] = true // once the study is in place
		return
	default:
		thumb, reason = "none", "the image could not be read"
	}
	t.rn.b.update(func(s *State) {
		if n < len(s.Series) {
			s.Series[n].Thumb, s.Series[n].NoPreview = thumb, reason
		}
	})
}

// noPreviewReason is why a series has no preview, for its tile.
func noPreviewReason(err error) string {
	var np *preview.NoPreviewError
	if errors.As(err, &np) {
		return np.Reason
	}
	return err.Error()
}

// wait waits for the thumbnails being rendered.
func (t *thumbs) wait() { t.wg.Wait() }

// get returns series n's thumbnail, PNG.
func (t *thumbs) get(n int) ([]byte, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.png[n]
	return b, ok
}

// thumb serves api/thumb/N.png.
func (p *page) thumb(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutSuffix(r.PathValue("name"), ".png")
	n, err := strconv.Atoi(name)
	rn := p.current()
	if !ok || err != nil || rn == nil {
		http.NotFound(w, r)
		return
	}
	b, ok := rn.thumbs.get(n)
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(b)
}

// reportKind is "pdf" or "text", as the report at path is shown; "" if
// it cannot be read.
func reportKind(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	head := make([]byte, 5)
	n, _ := f.Read(head)
	if string(head[:n]) == "%PDF-" {
		return "pdf"
	}
	return "text"
}

// report serves the report of the study saved: a PDF as a PDF, to show
// inline; anything else as plain text.
func (p *page) report(w http.ResponseWriter, r *http.Request) {
	rn := p.current()
	if rn == nil {
		http.NotFound(w, r)
		return
	}
	rn.mu.Lock()
	dir, m := rn.dir, rn.m
	rn.mu.Unlock()
	if dir == "" || m == nil {
		http.NotFound(w, r)
		return
	}
	rf, ok := m.Report()
	if !ok {
		http.NotFound(w, r)
		return
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer root.Close()
	f, err := root.Open(filepath.FromSlash(rf.Path))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		http.NotFound(w, r)
		return
	}
	ctype := "text/plain; charset=utf-8"
	if reportKind(filepath.Join(dir, filepath.FromSlash(rf.Path))) == "pdf" {
		ctype = "application/pdf"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", "inline")
	http.ServeContent(w, r, "", fi.ModTime(), f)
}
