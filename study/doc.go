// Package study finds DICOM studies on disk and summarises them: what a sender
// offers and what staff read before they send or receive.
//
// ScanPaths walks folders and files, reads the header of every file with
// github.com/suyashkumar/dicom and groups the instances by Study Instance UID.
// Files that are not DICOM, are truncated or lack the UIDs a study needs are
// collected as problems, never fatal. Select then picks what to send, and
// refuses to mix patients: a card travels with one patient.
//
// Reading a header never reads pixel data. The scanner drives the parser one
// top-level element at a time and stops in front of (7FE0,0010); it checks
// from the element's length, or for encapsulated data from its item headers,
// that the pixel data, and any element after it, ends inside the file:
//
//	preamble[128] "DICM" meta-group         (optional: files without them are read too)
//	element ... element                     parsed by suyashkumar/dicom
//	(7FE0,0010) length | items ... (FFFE,E0DD)  checked against the file size, not read
//	(FFFC,FFFC) padding ...                 lengths checked, not read
//
// Files written without a preamble or meta group (ACR-NEMA style, or a meta
// group with no preamble) are read when their first element is of group 0002
// or 0008; their transfer syntax is inferred the way the library infers it,
// and a meta group's Transfer Syntax UID is applied once the group ends.
package study
