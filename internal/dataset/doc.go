// Package dataset is the encoding of a DICOM data set (PS3.5): the
// transfer syntaxes as far as they change how elements are encoded, the
// header of an element, an item or a delimiter, read and written, and a
// walker over the elements of a data set that checks every length against
// what holds it.
//
// An element is a header and a value:
//
//	tag(group uint16, element uint16)            in the syntax's byte order
//	implicit VR:        length uint32
//	explicit, short VR: VR [2]byte, length uint16
//	explicit, long VR:  VR [2]byte, 0x0000, length uint32
//	value [length]byte, or with length FFFFFFFFH (undefined):
//	  a sequence:         items, then a sequence delimiter
//	  encapsulated data:  items of defined length, then a sequence delimiter
//
// Items (FFFE,E000) and delimiters (FFFE,E00D) and (FFFE,E0DD) have a tag
// and a 32-bit length and no VR in every syntax. An item of undefined
// length ends with an item delimiter.
//
// DictionaryVR gives the VR of a tag in implicit VR from the standard's
// dictionary.
//
// Package study reads headers with it before github.com/suyashkumar/dicom
// parses them, package reconcile streams and rewrites data sets with its
// headers, and package synthetic rewrites UIDs in files held in memory.
package dataset
