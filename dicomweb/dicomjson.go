package dicomweb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Tags read from DICOM JSON, as its keys spell them (PS3.18 F.2).
const (
	tagSOPInstanceUID                = "00080018"
	tagStudyDate                     = "00080020"
	tagAccessionNumber               = "00080050"
	tagModalitiesInStudy             = "00080061"
	tagStudyDescription              = "00081030"
	tagReferencedSOPClassUID         = "00081150"
	tagReferencedSOPInstanceUID      = "00081155"
	tagWarningReason                 = "00081196"
	tagFailureReason                 = "00081197"
	tagFailedSOPSequence             = "00081198"
	tagReferencedSOPSequence         = "00081199"
	tagPatientName                   = "00100010"
	tagPatientID                     = "00100020"
	tagStudyInstanceUID              = "0020000D"
	tagNumberOfStudyRelatedSeries    = "00201206"
	tagNumberOfStudyRelatedInstances = "00201208"
)

// A dataset is one DICOM JSON object: attributes by tag, the tags in upper
// case whatever the PACS sent.
type dataset map[string]attribute

// An attribute is one DICOM JSON attribute. Values stay raw until read,
// as their JSON type depends on the VR: strings, numbers, person names
// ({"Alphabetic": …}) or nested datasets (SQ).
type attribute struct {
	VR    string            `json:"vr"`
	Value []json.RawMessage `json:"Value"`
}

// UnmarshalJSON reads a DICOM JSON object, upper-casing its tags.
func (d *dataset) UnmarshalJSON(b []byte) error {
	var raw map[string]attribute
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*d = make(dataset, len(raw))
	for tag, a := range raw {
		(*d)[strings.ToUpper(tag)] = a
	}
	return nil
}

// parseDatasets reads a DICOM JSON array of datasets, as QIDO-RS answers.
// An empty body is no dataset (HTTP 204).
func parseDatasets(b []byte) ([]dataset, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	var ds []dataset
	if err := json.Unmarshal(b, &ds); err != nil {
		return nil, fmt.Errorf("not a DICOM JSON array: %w", err)
	}
	return ds, nil
}

// strings returns the attribute's values as text: strings as they are,
// numbers as JSON spells them, person names in their alphabetic form.
// Null values are "".
func (d dataset) strings(tag string) []string {
	a, ok := d[tag]
	if !ok {
		return nil
	}
	out := make([]string, 0, len(a.Value))
	for _, v := range a.Value {
		out = append(out, valueText(v))
	}
	return out
}

// string returns the attribute's first value as text, or "".
func (d dataset) string(tag string) string {
	if s := d.strings(tag); len(s) > 0 {
		return s[0]
	}
	return ""
}

func valueText(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return ""
	}
	switch v[0] {
	case '"':
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	case '{':
		var pn struct{ Alphabetic string }
		if json.Unmarshal(v, &pn) == nil {
			return pn.Alphabetic
		}
	case 'n': // null
		return ""
	default:
		return string(v)
	}
	return ""
}

// int returns the attribute's first value as an integer, whether the PACS
// wrote it as a number or a string (IS).
func (d dataset) int(tag string) (int64, bool) {
	s := strings.TrimSpace(d.string(tag))
	if s == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int64(f)) {
			return 0, false
		}
		n = int64(f)
	}
	return n, true
}

// uint16 returns the attribute's first value as a US value.
func (d dataset) uint16(tag string) (uint16, bool) {
	n, ok := d.int(tag)
	if !ok || n < 0 || n > 0xFFFF {
		return 0, false
	}
	return uint16(n), true
}

// sequence returns the items of an SQ attribute.
func (d dataset) sequence(tag string) ([]dataset, error) {
	a, ok := d[tag]
	if !ok {
		return nil, nil
	}
	items := make([]dataset, 0, len(a.Value))
	for i, v := range a.Value {
		var item dataset
		if err := json.Unmarshal(v, &item); err != nil {
			return nil, fmt.Errorf("item %d of %s: %w", i+1, tagName(tag), err)
		}
		items = append(items, item)
	}
	return items, nil
}

// tagName spells a tag as DICOM does, (0008,1199).
func tagName(tag string) string {
	if len(tag) != 8 {
		return fmt.Sprintf("tag %q", tag)
	}
	return "(" + tag[:4] + "," + tag[4:] + ")"
}
