package dataset

import dtag "github.com/suyashkumar/dicom/pkg/tag"

// DictionaryVR returns the VR of a tag in implicit VR: from the standard's
// dictionary (github.com/suyashkumar/dicom's, PS3.6), UL for group
// lengths, LO for private creators, "" for other private elements and the
// tags the dictionary lacks.
func DictionaryVR(t Tag) string {
	g, e := t.Group(), t.Element()
	switch {
	case e == 0:
		return "UL"
	case g%2 == 1 && e >= 0x10 && e <= 0xFF:
		return "LO"
	case g%2 == 1:
		return ""
	case g >= 0x5000 && g <= 0x501E, g >= 0x6000 && g <= 0x601E:
		g &= 0xFF00 // repeating groups: curves and overlays
	}
	info, err := dtag.Find(dtag.Tag{Group: g, Element: e})
	if err != nil || len(info.VRs) == 0 {
		return ""
	}
	return info.VRs[0]
}
