package sending

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"imageshare/dicomweb"
	"imageshare/send"
	"imageshare/station"
	"imageshare/study"
)

// A draft is a study found and being checked: its staging folder (a zip
// extracted, a study retrieved from the PACS), the paths read, and what
// reading them found. Sending it packs it and removes the folder.
type draft struct {
	id      string
	source  string // what staff chose, as they know it
	staging *send.Staging
	paths   []string
	reading *send.Reading // nil until one patient's studies are picked
	created time.Time
}

// studyView is a study as the page lists it.
type studyView struct {
	UID         string   `json:"uid"`
	Patient     string   `json:"patient"`
	PatientID   string   `json:"patient_id"`
	BirthDate   string   `json:"birth_date,omitempty"`
	Date        string   `json:"date"`
	Description string   `json:"description"`
	Accession   string   `json:"accession,omitempty"`
	Modalities  []string `json:"modalities"`
	Series      int      `json:"series"`
	Images      int      `json:"images"`
	Size        string   `json:"size,omitempty"`
}

func viewOf(s study.Summary) studyView {
	return studyView{UID: s.StudyUID, Patient: study.FormatName(s.PatientName), PatientID: s.PatientID,
		BirthDate: study.FormatDate(s.BirthDate), Date: study.FormatDate(s.StudyDate), Description: s.Description,
		Accession: s.Accession, Modalities: s.Modalities, Series: len(s.Series), Images: s.Files, Size: study.FormatBytes(s.Bytes)}
}

// draftView is a draft ready to send, or refused.
type draftView struct {
	Draft   string      `json:"draft"`
	Source  string      `json:"source"`
	Studies []studyView `json:"studies,omitempty"`
	// Summary is what sender send prints of the studies.
	Summary string   `json:"summary,omitempty"`
	Notes   []string `json:"notes,omitempty"`
	// A refusal: Error in plain words, the files that cannot be sent, or
	// the studies to choose from.
	Error    string        `json:"error,omitempty"`
	Problems []problemView `json:"problems,omitempty"`
	More     int           `json:"more,omitempty"`
	Choices  []studyView   `json:"choices,omitempty"`
	Several  bool          `json:"several_patients,omitempty"`
}

type problemView struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func decode(r *http.Request, v any) error {
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v); err != nil {
		return refuse(http.StatusBadRequest, "the request cannot be read: %v", err)
	}
	return nil
}

// search looks studies up in the PACS (QIDO-RS), by patient ID, name and
// date; a name matches from its start, as staff type it.
func (p *Page) search(w http.ResponseWriter, r *http.Request) {
	var q struct {
		PatientID string `json:"patient_id"`
		Name      string `json:"name"`
		Date      string `json:"date"` // YYYY-MM-DD, from the date field, or YYYYMMDD
	}
	if err := decode(r, &q); err != nil {
		fail(w, err)
		return
	}
	if p.cfg.PACS.URL == "" {
		fail(w, refuse(http.StatusConflict, "this station has no PACS: start it with --from-dicomweb"))
		return
	}
	sq := dicomweb.StudyQuery{PatientID: strings.TrimSpace(q.PatientID), StudyDate: strings.ReplaceAll(strings.TrimSpace(q.Date), "-", "")}
	if name := strings.TrimSpace(q.Name); name != "" {
		// "Doe, Jane" or "doe jane" as DICOM PN: DOE^JANE*.
		f := strings.FieldsFunc(strings.ToUpper(name), func(r rune) bool { return r == ',' || r == ' ' || r == '^' })
		sq.PatientName = strings.Join(f, "^") + "*"
	}
	if sq.PatientID == "" && sq.PatientName == "" && sq.StudyDate == "" {
		fail(w, refuse(http.StatusBadRequest, "type a patient ID, a name or a date to search the PACS"))
		return
	}
	matches, err := p.cfg.PACS.Search(r.Context(), sq)
	if err != nil {
		fail(w, refuse(http.StatusBadGateway, "%v", err))
		return
	}
	out := []studyView{}
	for _, m := range matches {
		out = append(out, studyView{UID: m.StudyInstanceUID, Patient: study.FormatName(m.PatientName), PatientID: m.PatientID,
			Date: study.FormatDate(m.StudyDate), Description: m.StudyDescription, Accession: m.AccessionNumber,
			Modalities: m.ModalitiesInStudy, Series: m.NumberOfStudyRelatedSeries, Images: m.NumberOfStudyRelatedInstances})
	}
	station.WriteJSON(w, http.StatusOK, map[string]any{"studies": out})
}

// prepare reads a study picked in the PACS (retrieved by WADO-RS into a
// staging folder) or at a path of the station (a folder, files, a medium
// with its DICOMDIR, a zip), and checks it as sender send does.
func (p *Page) prepare(w http.ResponseWriter, r *http.Request) {
	var q struct {
		PACSUID string `json:"pacs_uid"`
		Path    string `json:"path"`
	}
	if err := decode(r, &q); err != nil {
		fail(w, err)
		return
	}
	d := &draft{id: newID(), staging: send.NewStaging(p.cfg.Spool.Dir), created: time.Now()}
	var err error
	switch {
	case q.PACSUID != "" && p.cfg.PACS.URL != "":
		d.source = "the PACS, study " + q.PACSUID
		var dir string
		if dir, _, err = d.staging.Retrieve(r.Context(), p.cfg.PACS, q.PACSUID, nil); err == nil {
			d.paths = []string{dir}
		}
	case strings.TrimSpace(q.Path) != "":
		d.source = strings.TrimSpace(q.Path)
		d.paths, err = d.staging.Stage(r.Context(), []string{d.source}, nil)
	default:
		err = refuse(http.StatusBadRequest, "pick a study in the PACS, or type the path of a folder, a medium or a zip")
	}
	p.read(w, r, d, err, nil, false)
}

// upload takes a zip from the browser into a staging folder, streamed to
// disk up to MaxUpload, and reads it.
func (p *Page) upload(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, p.cfg.MaxUpload)
	d := &draft{id: newID(), staging: send.NewStaging(p.cfg.Spool.Dir), created: time.Now()}
	name, err := p.saveUpload(r, d, "zip", "upload")
	if err == nil {
		d.source = "the zip " + filepath.Base(name)
		if !send.IsZip(name) {
			err = refuse(http.StatusUnprocessableEntity, "%s is not a zip file: upload a zip, or type the path of the folder", filepath.Base(name))
		} else if d.paths, err = d.staging.Stage(r.Context(), []string{name}, nil); err == nil {
			os.Remove(name) // its extracted copy is read
		}
	}
	p.read(w, r, d, err, nil, false)
}

// saveUpload saves the multipart file field into the folder dir of the
// draft's staging folder, under its own base name, and returns its path.
func (p *Page) saveUpload(r *http.Request, d *draft, field, dir string) (string, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return "", refuse(http.StatusBadRequest, "the upload cannot be read: %v", err)
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return "", refuse(http.StatusBadRequest, "choose a file to upload")
		}
		if err != nil {
			return "", uploadError(err, p.cfg.MaxUpload)
		}
		if part.FormName() != field || part.FileName() == "" {
			continue
		}
		return saveTo(part, d, dir, part.FileName(), p.cfg.MaxUpload)
	}
}

// saveTo writes r to name (its base name) in the folder dir of the
// draft's staging folder.
func saveTo(r io.Reader, d *draft, dir, name string, max int64) (string, error) {
	base := filepath.Base(filepath.Clean("/" + strings.ReplaceAll(name, "\\", "/")))
	if base == "/" || base == "." || strings.HasPrefix(base, ".") {
		base = "upload"
	}
	folder, err := d.staging.Folder(dir)
	if err != nil {
		return "", fmt.Errorf("making the staging folder: %w", err)
	}
	path := filepath.Join(folder, base)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", uploadError(err, max)
	}
	return path, nil
}

func uploadError(err error, max int64) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return refuse(http.StatusRequestEntityTooLarge, "the file is larger than this station takes (%s): copy it to the station and type its path", study.FormatBytes(max))
	}
	return refuse(http.StatusBadRequest, "the upload did not arrive whole: %v", err)
}

// choose picks a study of a draft that holds several, or all of them (of
// one patient).
func (p *Page) choose(w http.ResponseWriter, r *http.Request) {
	var q struct {
		Draft string `json:"draft"`
		Study string `json:"study"`
		All   bool   `json:"all"`
	}
	if err := decode(r, &q); err != nil {
		fail(w, err)
		return
	}
	p.mu.Lock()
	d := p.drafts[q.Draft]
	delete(p.drafts, q.Draft) // read again below, under a new ID
	p.mu.Unlock()
	if d == nil {
		fail(w, refuse(http.StatusNotFound, "that study is no longer at hand: find it again"))
		return
	}
	var uids []string
	if q.Study != "" {
		uids = []string{q.Study}
	}
	d.id = newID()
	p.read(w, r, d, nil, uids, q.All)
}

// read reads and checks the draft's paths (unless staging them failed
// with err), keeps the draft, and answers what it found or why it is
// refused, in plain words.
func (p *Page) read(w http.ResponseWriter, r *http.Request, d *draft, err error, studies []string, all bool) {
	var rd *send.Reading
	if err == nil {
		rd, err = send.ReadStudy(r.Context(), send.ReadOptions{Paths: d.paths, Staging: d.staging, Studies: studies, AllStudies: all})
	}
	v := draftView{Draft: d.id, Source: d.source}
	if rd != nil {
		for _, m := range rd.Media {
			v.Notes = append(v.Notes, fmt.Sprintf("%s lists %d files: only those are read; %d other files of the medium (a viewer, the DICOMDIR itself) are not sent.",
				m.DICOMDIR, m.Listed, m.Unlisted))
		}
	}
	if err != nil {
		// A refusal is what checking the study found, answered as such;
		// the page shows it in place of the summary.
		status := refusal(err, &v)
		if status == http.StatusInternalServerError {
			d.staging.Cleanup()
			fail(w, err)
			return
		}
		if len(v.Choices) > 0 {
			p.keep(d) // to choose from
		} else {
			d.staging.Cleanup()
		}
		station.WriteJSON(w, http.StatusOK, v)
		return
	}
	d.reading = rd
	p.keep(d)
	var b bytes.Buffer
	for i, s := range rd.Studies {
		if i > 0 {
			b.WriteString("\n")
		}
		study.WriteSummary(&b, s.Summary)
		v.Studies = append(v.Studies, viewOf(s.Summary))
	}
	v.Summary = b.String()
	station.WriteJSON(w, http.StatusOK, v)
}

// keep keeps a draft, forgetting the oldest beyond maxDrafts.
func (p *Page) keep(d *draft) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drafts[d.id] = d
	for len(p.drafts) > maxDrafts {
		var oldest *draft
		for _, o := range p.drafts {
			if oldest == nil || o.created.Before(oldest.created) {
				oldest = o
			}
		}
		oldest.staging.Cleanup()
		delete(p.drafts, oldest.id)
	}
}

// take removes a draft ready to send from those kept.
func (p *Page) take(id string) *draft {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.drafts[id]
	if d == nil || d.reading == nil {
		return nil
	}
	delete(p.drafts, id)
	return d
}

// refusal says in v, in plain words, why a study cannot be sent, and
// returns the HTTP status.
func refusal(err error, v *draftView) int {
	var (
		pe   *send.ProblemsError
		amb  *study.AmbiguousError
		nf   *send.NoSuchPathError
		de   *study.DICOMDIRError
		ze   *study.ZipError
		pl   *plainError
		file *study.FileError
	)
	switch {
	case errors.As(err, &pl):
		v.Error = pl.msg
		return pl.status
	case errors.As(err, &nf):
		v.Error = fmt.Sprintf("There is no file or folder %s on this station. Check the path (a folder, a CD or USB stick, or a zip).", nf.Path)
		return http.StatusNotFound
	case errors.As(err, &pe):
		v.Error = fmt.Sprintf("%d file(s) here cannot be sent: they are not DICOM images, or are damaged or cannot be read. Nothing was sent. Move them out of the folder, or choose the study's own folder; a report goes with the report option.", len(pe.Problems))
		if pe.OnMedium {
			v.Error = fmt.Sprintf("The medium lacks %d file(s) that its DICOMDIR lists (a damaged or partial copy?). Nothing was sent.", len(pe.Problems))
		}
		for i, f := range pe.Problems {
			if i == 10 {
				v.More = len(pe.Problems) - i
				break
			}
			v.Problems = append(v.Problems, problemView{Path: f.Path, Message: f.Err.Error()})
		}
		return http.StatusUnprocessableEntity
	case errors.As(err, &amb):
		for _, s := range amb.Studies {
			v.Choices = append(v.Choices, viewOf(s.Summary))
		}
		v.Several = amb.MultiplePatients
		if amb.MultiplePatients {
			names := map[string]bool{}
			var list []string
			for _, c := range v.Choices {
				if k := c.Patient + " (" + c.PatientID + ")"; !names[k] {
					names[k] = true
					list = append(list, k)
				}
			}
			v.Error = fmt.Sprintf("This holds studies of %d different patients: %s. A card travels with one patient: pick one study below, or choose a folder with one patient's study.",
				len(list), strings.Join(list, ", "))
		} else {
			v.Error = fmt.Sprintf("This holds %d studies of %s. Pick the one to send, or send them all on one card.", len(v.Choices), v.Choices[0].Patient)
		}
		return http.StatusConflict
	case errors.Is(err, study.ErrNoStudy):
		v.Error = "No DICOM study was found there. Choose the folder that holds the images, or the CD or USB stick itself."
		return http.StatusUnprocessableEntity
	case errors.As(err, &de):
		v.Error = fmt.Sprintf("The DICOMDIR cannot be followed: %v. The study's folder can also be chosen below the DICOMDIR.", de)
		return http.StatusUnprocessableEntity
	case errors.As(err, &ze):
		v.Error = fmt.Sprintf("The zip cannot be used: %v", ze)
		return http.StatusUnprocessableEntity
	case errors.Is(err, send.ErrPACS):
		v.Error = "The study cannot be taken from the PACS: " + strings.TrimPrefix(err.Error(), send.ErrPACS.Error()+": ")
		return http.StatusBadGateway
	case errors.As(err, &file):
		v.Error = fmt.Sprintf("%v", file)
		return http.StatusUnprocessableEntity
	}
	v.Error = err.Error()
	return http.StatusInternalServerError
}
