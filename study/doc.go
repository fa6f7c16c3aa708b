// Package study finds DICOM studies on disk and summarises them: what a sender
// offers and what staff read before they send or receive.
//
// ScanPaths walks folders and files, reads the header of every file with
// github.com/suyashkumar/dicom and groups the instances by Study Instance UID.
// Files that are not DICOM, are truncated or malformed, or lack the UIDs a
// study needs are collected as problems, never fatal. Select then picks what
// to send, and refuses to mix patients: a card travels with one patient.
//
// A folder with a DICOMDIR at its top is a DICOM medium (a CD, DVD or USB
// stick): the files its DICOMDIR lists are read, and the rest of the folder
// is skipped (dicomdir.go says how it is read). Unzip extracts a zip into a
// folder for ScanPaths, checking its names, sizes and CRCs.
//
// A file is read in two passes, and its pixel data in neither:
//
//	preamble[128] "DICM" meta-group   read here (files without them are read too)
//	element ... element               1. lengths checked against what holds them,
//	                                     down to items; 2. parsed by the library
//	(7FE0,0010) length | items        1. lengths checked against the file size
//	(FFFC,FFFC) padding ...           1. lengths checked
//
// The first pass (validate, an internal/dataset walk that reads headers as
// the library does) reads element headers only: it finds truncated files,
// which the library does not always notice (it stops silently at the end
// of encapsulated pixel data), and it keeps the library from allocating a
// length that no byte backs, which it does before reading a value. The
// second pass hands the library the data set up to the pixel data, after a
// meta group made here that names the transfer syntax, so that the library
// never infers one: inferring, it allocates the first element's length as
// each syntax it tries reads it.
//
// Files without a preamble (ACR-NEMA style, or a meta group written with no
// preamble) are read when their first element is of group 0002 or 0008.
// Their transfer syntax is inferred as the library would: the first of
// implicit VR little endian, explicit VR big endian and explicit VR little
// endian that reads the first element from the first 100 bytes. A meta
// group's Transfer Syntax UID applies once the group ends.
package study
