package synthetic

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"
)

// UIDs this package writes.
const (
	ctImageStorage = "1.2.840.10008.5.1.4.1.1.2"
	// implementationClassUID names this writer in the meta group: 2.25 and
	// a UUID fixed for imageshare's synthetic files.
	implementationClassUID = "2.25.187542947283546871209338474618716311852"
	implementationVersion  = "IMAGESHARE_SYN1"
)

// Options describe one synthetic study: one patient, one study a call.
// Zero values take the defaults given.
type Options struct {
	Dir string // where to write; created if need be

	PatientName      string // DICOM PN, default "SYNTHETIC^PATIENT"
	PatientID        string // default "SYN" and six digits from the seed
	BirthDate        string // DICOM DA "YYYYMMDD", default "19700101"
	Sex              string // "M", "F" or "O", default "O"
	StudyDescription string // default "SYNTHETIC CT"

	Series        int   // default 1
	Images        int   // per series, default 10
	Rows, Columns int   // default 512×512
	Seed          int64 // same seed and options, same bytes
}

// Result is what Write or Replicate wrote.
type Result struct {
	StudyUID string
	Files    []string // in order of series, then image
	Bytes    int64
}

// withDefaults fills in the defaults and checks the options.
func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, errors.New("no output folder")
	}
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.PatientName, "SYNTHETIC^PATIENT")
	def(&o.PatientID, fmt.Sprintf("SYN%06d", uint64(o.Seed)%1_000_000))
	def(&o.BirthDate, "19700101")
	def(&o.Sex, "O")
	def(&o.StudyDescription, "SYNTHETIC CT")
	defInt(&o.Series, 1)
	defInt(&o.Images, 10)
	defInt(&o.Rows, 512)
	defInt(&o.Columns, 512)
	switch {
	case o.Series < 1 || o.Series > 999:
		return o, fmt.Errorf("series: %d is outside 1..999", o.Series)
	case o.Images < 1 || o.Images > 99999:
		return o, fmt.Errorf("images: %d is outside 1..99999", o.Images)
	case o.Rows < 1 || o.Rows > 65535 || o.Columns < 1 || o.Columns > 65535:
		return o, fmt.Errorf("size: %d×%d is outside 1..65535", o.Rows, o.Columns)
	case len(o.PatientName) > 64 || strings.ContainsAny(o.PatientName, "\\\x00\n\r"):
		return o, fmt.Errorf("patient name %q: at most 64 bytes, no backslash or control character", o.PatientName)
	case len(o.PatientID) > 64 || strings.ContainsAny(o.PatientID, "\\\x00\n\r"):
		return o, fmt.Errorf("patient ID %q: at most 64 bytes, no backslash or control character", o.PatientID)
	case len(o.StudyDescription) > 64 || strings.ContainsAny(o.StudyDescription, "\\\x00\n\r"):
		return o, fmt.Errorf("study description %q: at most 64 bytes, no backslash or control character", o.StudyDescription)
	case o.Sex != "M" && o.Sex != "F" && o.Sex != "O":
		return o, fmt.Errorf("sex %q: want M, F or O", o.Sex)
	}
	if _, err := time.Parse("20060102", o.BirthDate); err != nil {
		return o, fmt.Errorf("birth date %q: want YYYYMMDD", o.BirthDate)
	}
	for _, s := range []string{o.PatientName, o.PatientID, o.StudyDescription} {
		if !utf8.ValidString(s) {
			return o, fmt.Errorf("%q is not UTF-8", s)
		}
	}
	return o, nil
}

// key is everything but the folder that makes a study what it is: the
// seed of its UIDs and pixels.
func (o Options) key() string {
	return fmt.Sprintf("%d|%q|%q|%q|%q|%q|%d|%d|%d|%d", o.Seed, o.PatientName, o.PatientID, o.BirthDate,
		o.Sex, o.StudyDescription, o.Series, o.Images, o.Rows, o.Columns)
}

// Write writes a synthetic CT study under opts.Dir, as
// series-NNN/IMNNNNN.dcm. Existing files of the same names are replaced.
func Write(opts Options) (*Result, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	st := newStudyPlan(o)
	for s := range o.Series {
		if err := os.MkdirAll(filepath.Join(o.Dir, seriesDir(s)), 0o755); err != nil {
			return nil, err
		}
	}
	files := make([]string, o.Series*o.Images)
	sizes := make([]int64, len(files))
	// One pair of pixel buffers a worker would do; one an image is simpler
	// and the garbage collector keeps up.
	err = parallel(len(files), func(k int) error {
		var err error
		files[k], sizes[k], err = st.writeImage(k/o.Images, k%o.Images)
		return err
	})
	if err != nil {
		return nil, err
	}
	res := &Result{StudyUID: st.studyUID, Files: files}
	for _, n := range sizes {
		res.Bytes += n
	}
	return res, nil
}

func seriesDir(s int) string { return fmt.Sprintf("series-%03d", s+1) }

// studyPlan holds what the files of a study share.
type studyPlan struct {
	o          Options
	key        string
	studyUID   string
	frameUID   string
	accession  string
	date, time string
	charset    string // Specific Character Set, "" for ASCII
}

func newStudyPlan(o Options) *studyPlan {
	key := o.key()
	h := hashParts(key, "study date")
	// A date in 2020–2023 and a time of day, both from the seed.
	day := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(binary.BigEndian.Uint16(h[:])%1461))
	sec := binary.BigEndian.Uint32(h[2:]) % 86400
	p := &studyPlan{
		o:         o,
		key:       key,
		studyUID:  deriveUID(key, "study"),
		frameUID:  deriveUID(key, "frame of reference"),
		accession: fmt.Sprintf("SYN%010d", binary.BigEndian.Uint64(h[8:])%10_000_000_000),
		date:      day.Format("20060102"),
		time:      fmt.Sprintf("%02d%02d%02d", sec/3600, sec/60%60, sec%60),
	}
	for _, s := range []string{o.PatientName, o.PatientID, o.StudyDescription} {
		for _, r := range s {
			if r >= utf8.RuneSelf {
				p.charset = "ISO_IR 192" // UTF-8
			}
		}
	}
	return p
}

// Geometry of the synthetic scanner.
const (
	fieldOfView    = 500.0 // mm across the reconstruction circle
	sliceThickness = 1.25  // mm
)

// writeImage writes image i of series s.
func (p *studyPlan) writeImage(s, i int) (string, int64, error) {
	o := p.o
	px := make([]uint16, o.Rows*o.Columns)
	raw := make([]byte, 2*len(px))
	name := filepath.Join(o.Dir, seriesDir(s), fmt.Sprintf("IM%05d.dcm", i+1))
	seriesUID := deriveUID(p.key, "series", strconv.Itoa(s))
	sopUID := deriveUID(p.key, "instance", strconv.Itoa(s), strconv.Itoa(i))

	z := 0.5
	if o.Images > 1 {
		z = float64(i) / float64(o.Images-1)
	}
	h := hashParts(p.key, "pixels", strconv.Itoa(s), strconv.Itoa(i))
	rng := rand.NewPCG(binary.BigEndian.Uint64(h[:]), binary.BigEndian.Uint64(h[8:]))
	phantom(px, o.Rows, o.Columns, z, rng)
	for k, v := range px {
		binary.LittleEndian.PutUint16(raw[2*k:], v)
	}

	spacing := fieldOfView / float64(max(o.Rows, o.Columns))
	position := -float64(i) * sliceThickness
	ds := func(vs ...float64) []string {
		out := make([]string, len(vs))
		for k, v := range vs {
			out[k] = formatDS(v)
		}
		return out
	}
	str := func(v ...string) []string { return v }
	elems := []struct {
		t tag.Tag
		v any
	}{
		{tag.FileMetaInformationVersion, []byte{0, 1}},
		{tag.MediaStorageSOPClassUID, str(ctImageStorage)},
		{tag.MediaStorageSOPInstanceUID, str(sopUID)},
		{tag.TransferSyntaxUID, str(uid.ExplicitVRLittleEndian)},
		{tag.ImplementationClassUID, str(implementationClassUID)},
		{tag.ImplementationVersionName, str(implementationVersion)},
		{tag.SpecificCharacterSet, str(p.charset)},
		{tag.ImageType, str("ORIGINAL", "PRIMARY", "AXIAL")},
		{tag.SOPClassUID, str(ctImageStorage)},
		{tag.SOPInstanceUID, str(sopUID)},
		{tag.StudyDate, str(p.date)},
		{tag.SeriesDate, str(p.date)},
		{tag.ContentDate, str(p.date)},
		{tag.StudyTime, str(p.time)},
		{tag.SeriesTime, str(p.time)},
		{tag.ContentTime, str(p.time)},
		{tag.AccessionNumber, str(p.accession)},
		{tag.Modality, str("CT")},
		{tag.Manufacturer, str("imageshare synthetic")},
		{tag.ReferringPhysicianName, str("")},
		{tag.StudyDescription, str(o.StudyDescription)},
		{tag.SeriesDescription, str(fmt.Sprintf("SYNTHETIC AXIAL %d", s+1))},
		{tag.PatientName, str(o.PatientName)},
		{tag.PatientID, str(o.PatientID)},
		{tag.PatientBirthDate, str(o.BirthDate)},
		{tag.PatientSex, str(o.Sex)},
		{tag.SliceThickness, ds(sliceThickness)},
		{tag.KVP, ds(120)},
		{tag.PatientPosition, str("HFS")},
		{tag.StudyInstanceUID, str(p.studyUID)},
		{tag.SeriesInstanceUID, str(seriesUID)},
		{tag.StudyID, str("1")},
		{tag.SeriesNumber, str(strconv.Itoa(s + 1))},
		{tag.InstanceNumber, str(strconv.Itoa(i + 1))},
		{tag.ImagePositionPatient, ds(-spacing*float64(o.Columns)/2, -spacing*float64(o.Rows)/2, position)},
		{tag.ImageOrientationPatient, ds(1, 0, 0, 0, 1, 0)},
		{tag.FrameOfReferenceUID, str(p.frameUID)},
		{tag.PositionReferenceIndicator, str("")},
		{tag.SliceLocation, ds(position)},
		{tag.SamplesPerPixel, []int{1}},
		{tag.PhotometricInterpretation, str("MONOCHROME2")},
		{tag.Rows, []int{o.Rows}},
		{tag.Columns, []int{o.Columns}},
		{tag.PixelSpacing, ds(spacing, spacing)},
		{tag.BitsAllocated, []int{16}},
		{tag.BitsStored, []int{12}},
		{tag.HighBit, []int{11}},
		{tag.PixelRepresentation, []int{0}},
		{tag.WindowCenter, ds(40)},
		{tag.WindowWidth, ds(400)},
		{tag.RescaleIntercept, ds(-1024)},
		{tag.RescaleSlope, ds(1)},
		{tag.RescaleType, str("HU")},
		{tag.PixelData, dicom.PixelDataInfo{IntentionallyUnprocessed: true, UnprocessedValueData: raw}},
	}
	var set dicom.Dataset
	for _, e := range elems {
		if e.t == tag.SpecificCharacterSet && p.charset == "" {
			continue
		}
		el, err := dicom.NewElement(e.t, e.v)
		if err != nil {
			return name, 0, fmt.Errorf("%s: making element %v: %w", name, e.t, err)
		}
		set.Elements = append(set.Elements, el)
	}

	f, err := os.Create(name)
	if err != nil {
		return name, 0, err
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	err = dicom.Write(bw, set)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return name, 0, fmt.Errorf("writing %s: %w", name, err)
	}
	fi, err := os.Stat(name)
	if err != nil {
		return name, 0, err
	}
	return name, fi.Size(), nil
}

// formatDS formats a decimal string (DS) in at most 16 characters.
func formatDS(v float64) string {
	if v == 0 {
		v = 0 // not "-0"
	}
	if s := strconv.FormatFloat(v, 'f', -1, 64); len(s) <= 16 {
		return s
	}
	for prec := 10; prec >= 0; prec-- {
		s := strconv.FormatFloat(v, 'f', prec, 64)
		if strings.Contains(s, ".") {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
		if len(s) <= 16 {
			return s
		}
	}
	return strconv.FormatFloat(v, 'g', 10, 64)
}

// Hounsfield units of the phantom's tissues.
const (
	huAir    = -1000
	huLung   = -850
	huFat    = -100
	huSoft   = 40
	huLiver  = 60
	huKidney = 30
	huHeart  = 45
	huAorta  = 180 // with contrast
	huMarrow = 300
	huBone   = 900
	huTable  = 150
)

// ellipse is a shape of the phantom, in coordinates where the image spans
// -1..1 on its shorter side; u goes right, v down.
type ellipse struct {
	cu, cv, ru, rv float64
	hu             float64
}

// shapes returns the phantom's shapes at depth z (0 at the top of the
// scanned range, 1 at its bottom), in the order they are painted: lungs at
// the top give way to heart, then liver, then kidneys.
func shapes(z float64) []ellipse {
	clamp := func(x float64) float64 { return math.Max(0, math.Min(1, x)) }
	bump := func(lo, hi float64) float64 { // 0 outside lo..hi, 1 in the middle
		if z <= lo || z >= hi {
			return 0
		}
		return math.Sin(math.Pi * (z - lo) / (hi - lo))
	}
	lung := math.Sqrt(clamp((0.65 - z) / 0.65))
	heart := bump(0.1, 0.55)
	liver := bump(0.35, 1.2)
	kidney := bump(0.6, 1.3)
	width := 0.80 + 0.04*math.Sin(math.Pi*z)
	out := []ellipse{
		{0, 0.02, width, 0.60, huFat},
		{0, 0.02, width - 0.06, 0.54, huSoft},
		{-0.36, -0.05, 0.27 * lung, 0.38 * lung, huLung},
		{0.36, -0.05, 0.27 * lung, 0.38 * lung, huLung},
		{0.08, 0.02, 0.24 * heart, 0.19 * heart, huHeart},
		{-0.28, 0.0, 0.34 * liver, 0.30 * liver, huLiver},
		{-0.32, 0.25, 0.09 * kidney, 0.13 * kidney, huKidney},
		{0.32, 0.25, 0.09 * kidney, 0.13 * kidney, huKidney},
		{0.06, 0.24, 0.045, 0.045, huAorta},
		{0, 0.40, 0.105, 0.095, huBone},
		{0, 0.40, 0.08, 0.072, huMarrow},
		{0, 0.52, 0.03, 0.06, huBone},
	}
	return out
}

// phantom draws one slice into px (rows×cols) as stored values, Hounsfield
// units + 1024 clamped to 12 bits, with noise from rng. Outside the
// reconstruction circle the value is 0, as scanners pad.
func phantom(px []uint16, rows, cols int, z float64, rng *rand.PCG) {
	half := float64(min(rows, cols)) / 2
	sh := shapes(z)
	hu := make([]float64, cols)
	for y := range rows {
		v := (float64(y) + 0.5 - float64(rows)/2) / half
		for x := range hu {
			hu[x] = huAir
		}
		if v > 0.66 && v < 0.70 {
			for x := range hu {
				if u := (float64(x) + 0.5 - float64(cols)/2) / half; math.Abs(u) < 0.9 {
					hu[x] = huTable
				}
			}
		}
		for _, e := range sh {
			if e.ru <= 0 || e.rv <= 0 {
				continue
			}
			dv := (v - e.cv) / e.rv
			if dv*dv >= 1 {
				continue
			}
			// The row crosses the ellipse between u0 and u1.
			du := e.ru * math.Sqrt(1-dv*dv)
			x0 := max(0, int(math.Ceil((e.cu-du)*half+float64(cols)/2-0.5)))
			x1 := min(cols-1, int(math.Floor((e.cu+du)*half+float64(cols)/2-0.5)))
			for x := x0; x <= x1; x++ {
				hu[x] = e.hu
			}
		}
		row := px[y*cols : (y+1)*cols]
		for x := range row {
			u := (float64(x) + 0.5 - float64(cols)/2) / half
			if u*u+v*v > 1 {
				row[x] = 0
				continue
			}
			h := hu[x]
			if h > huAir {
				// Slow texture inside the body.
				h += 8 * math.Sin(3.1*u+5*z) * math.Cos(2.3*v)
			}
			h += noise(rng, 12)
			row[x] = uint16(math.Max(0, math.Min(4095, math.Round(h+1024))))
		}
	}
}

// noise returns a roughly normal value of standard deviation sigma: the sum
// of four uniform 16-bit numbers from one draw of rng.
func noise(rng *rand.PCG, sigma float64) float64 {
	r := rng.Uint64()
	s := float64(r&0xffff) + float64(r>>16&0xffff) + float64(r>>32&0xffff) + float64(r>>48)
	const mean, std = 2 * 65535.0, 65536 / 1.7320508075688772 // 4 × uniform: var = 4·65536²/12
	return (s - mean) / std * sigma
}
