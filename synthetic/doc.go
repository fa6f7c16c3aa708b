// Package synthetic makes DICOM studies for tests and benchmarks that must
// run without real data.
//
// Write makes one patient's CT study: DICOM Part 10 files (preamble, "DICM",
// a meta group with its group length), Explicit VR Little Endian, CT Image
// Storage, 16 bits allocated and 12 stored, whose pixels are a smooth body
// phantom (fat, soft tissue, lungs, liver, spine, aorta, table) with noise,
// so that they compress like real CT. The files are written with
// suyashkumar/dicom's writer; the pixel data is handed to it as raw bytes.
//
// Replicate copies a real series folder N times into one new study, one new
// series per copy, rewriting only UIDs. It re-encodes nothing else: the
// library would trim and re-encode strings (converting their character set),
// and rewrite sequences, so Replicate edits the element tree itself and
// recomputes only the lengths a new UID changes.
//
// Output is a function of the inputs: the same options and seed give the same
// bytes, UIDs included (2.25.<a version 4 UUID as a decimal>, made from a
// hash of the seed, the options and the UID's role). Studies made with the
// same seed and options therefore share UIDs; vary the seed to keep them
// apart.
package synthetic
