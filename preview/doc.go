// Package preview renders thumbnails of received DICOM series on the server,
// for the stations' pages: a series' middle image, at most 256 pixels on its
// long side.
//
// What is rendered, and how:
//
//	native pixel data (implicit or explicit VR little endian, explicit VR big
//	endian, deflated), 8, 16 or 32 bits allocated:
//	  grey:  stored value (Bits Stored, High Bit, Pixel Representation)
//	         → modality value (Rescale Slope and Intercept)
//	         → 8 bits through the first Window Center/Width (VOI LUT Function
//	           LINEAR, LINEAR_EXACT or SIGMOID, PS3.3 C.11.2.1.2), or through
//	           the range of the image's modality values when it has no window
//	         → inverted for MONOCHROME1
//	  colour: RGB (either Planar Configuration), YBR_FULL, YBR_FULL_422
//	JPEG Baseline (1.2.840.10008.1.2.4.50): decoded with image/jpeg; a grey
//	image then goes through the grey steps above
//	everything else: an error wrapping ErrNoPreview that says why, for the
//	page to show as a "no preview" tile: the other compressions (JPEG 2000,
//	JPEG-LS, RLE, lossless and 12-bit JPEG), palette colour, and files with
//	no image (SR, encapsulated PDF, segmentations)
//
// The middle image of a series is chosen from the headers alone: the files
// in Instance Number order, then by Image Position (Patient) along the
// slice normal, then by name. Only the chosen file is read whole; of a
// multi-frame file, its middle frame is rendered. The thumbnail is scaled
// down with a box filter (each thumbnail pixel the mean of the pixels it
// covers), the aspect ratio of rows and columns kept.
//
// Every file is first checked as the scanner checks it (study.ReadStudyModule:
// each length against what holds it), so that a truncated or malformed file
// is an error naming it, and the DICOM library never allocates a length no
// byte backs.
package preview
