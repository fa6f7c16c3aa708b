package dimse

import "slices"

// Verification is the Verification SOP class (C-ECHO, PS3.4 A).
const Verification = "1.2.840.10008.1.1"

// StorageSOPClasses are the storage SOP classes a StoragePolicy accepts:
// the images, multi-frames, structured reports, segmentations, RT objects
// and encapsulated documents a trauma study holds.
var StorageSOPClasses = []string{
	"1.2.840.10008.5.1.4.1.1.1",      // Computed Radiography Image
	"1.2.840.10008.5.1.4.1.1.1.1",    // Digital X-Ray Image - For Presentation
	"1.2.840.10008.5.1.4.1.1.1.1.1",  // Digital X-Ray Image - For Processing
	"1.2.840.10008.5.1.4.1.1.1.2",    // Digital Mammography X-Ray Image - For Presentation
	"1.2.840.10008.5.1.4.1.1.1.2.1",  // Digital Mammography X-Ray Image - For Processing
	"1.2.840.10008.5.1.4.1.1.2",      // CT Image
	"1.2.840.10008.5.1.4.1.1.2.1",    // Enhanced CT Image
	"1.2.840.10008.5.1.4.1.1.2.2",    // Legacy Converted Enhanced CT Image
	"1.2.840.10008.5.1.4.1.1.3.1",    // Ultrasound Multi-frame Image
	"1.2.840.10008.5.1.4.1.1.4",      // MR Image
	"1.2.840.10008.5.1.4.1.1.4.1",    // Enhanced MR Image
	"1.2.840.10008.5.1.4.1.1.4.2",    // MR Spectroscopy
	"1.2.840.10008.5.1.4.1.1.4.4",    // Legacy Converted Enhanced MR Image
	"1.2.840.10008.5.1.4.1.1.6.1",    // Ultrasound Image
	"1.2.840.10008.5.1.4.1.1.7",      // Secondary Capture Image
	"1.2.840.10008.5.1.4.1.1.7.1",    // Multi-frame Single Bit Secondary Capture Image
	"1.2.840.10008.5.1.4.1.1.7.2",    // Multi-frame Grayscale Byte Secondary Capture Image
	"1.2.840.10008.5.1.4.1.1.7.3",    // Multi-frame Grayscale Word Secondary Capture Image
	"1.2.840.10008.5.1.4.1.1.7.4",    // Multi-frame True Color Secondary Capture Image
	"1.2.840.10008.5.1.4.1.1.9.1.1",  // 12-lead ECG Waveform
	"1.2.840.10008.5.1.4.1.1.9.1.2",  // General ECG Waveform
	"1.2.840.10008.5.1.4.1.1.9.2.1",  // Hemodynamic Waveform
	"1.2.840.10008.5.1.4.1.1.11.1",   // Grayscale Softcopy Presentation State
	"1.2.840.10008.5.1.4.1.1.12.1",   // X-Ray Angiographic Image
	"1.2.840.10008.5.1.4.1.1.12.1.1", // Enhanced XA Image
	"1.2.840.10008.5.1.4.1.1.12.2",   // X-Ray Radiofluoroscopic Image
	"1.2.840.10008.5.1.4.1.1.13.1.3", // Breast Tomosynthesis Image
	"1.2.840.10008.5.1.4.1.1.20",     // Nuclear Medicine Image
	"1.2.840.10008.5.1.4.1.1.30",     // Parametric Map
	"1.2.840.10008.5.1.4.1.1.66",     // Raw Data
	"1.2.840.10008.5.1.4.1.1.66.1",   // Spatial Registration
	"1.2.840.10008.5.1.4.1.1.66.4",   // Segmentation
	"1.2.840.10008.5.1.4.1.1.77.1.4", // VL Photographic Image
	"1.2.840.10008.5.1.4.1.1.88.11",  // Basic Text SR
	"1.2.840.10008.5.1.4.1.1.88.22",  // Enhanced SR
	"1.2.840.10008.5.1.4.1.1.88.33",  // Comprehensive SR
	"1.2.840.10008.5.1.4.1.1.88.34",  // Comprehensive 3D SR
	"1.2.840.10008.5.1.4.1.1.88.59",  // Key Object Selection Document
	"1.2.840.10008.5.1.4.1.1.88.67",  // X-Ray Radiation Dose SR
	"1.2.840.10008.5.1.4.1.1.104.1",  // Encapsulated PDF
	"1.2.840.10008.5.1.4.1.1.128",    // Positron Emission Tomography Image
	"1.2.840.10008.5.1.4.1.1.130",    // Enhanced PET Image
	"1.2.840.10008.5.1.4.1.1.481.1",  // RT Image
	"1.2.840.10008.5.1.4.1.1.481.2",  // RT Dose
	"1.2.840.10008.5.1.4.1.1.481.3",  // RT Structure Set
	"1.2.840.10008.5.1.4.1.1.481.5",  // RT Plan
}

// Transfer syntaxes (PS3.5 Table A-1 and Annex A).
const (
	ImplicitVRLittleEndian   = "1.2.840.10008.1.2"
	ExplicitVRLittleEndian   = "1.2.840.10008.1.2.1"
	DeflatedExplicitVRLittle = "1.2.840.10008.1.2.1.99"
	ExplicitVRBigEndian      = "1.2.840.10008.1.2.2"
	JPEGBaseline             = "1.2.840.10008.1.2.4.50"
	JPEGExtended             = "1.2.840.10008.1.2.4.51"
	JPEGLossless             = "1.2.840.10008.1.2.4.57"
	JPEGLosslessSV1          = "1.2.840.10008.1.2.4.70"
	JPEGLSLossless           = "1.2.840.10008.1.2.4.80"
	JPEGLSNearLossless       = "1.2.840.10008.1.2.4.81"
	JPEG2000Lossless         = "1.2.840.10008.1.2.4.90"
	JPEG2000                 = "1.2.840.10008.1.2.4.91"
	HTJ2KLossless            = "1.2.840.10008.1.2.4.201"
	HTJ2KLosslessRPCL        = "1.2.840.10008.1.2.4.202"
	HTJ2K                    = "1.2.840.10008.1.2.4.203"
	RLELossless              = "1.2.840.10008.1.2.5"
)

// StorageTransferSyntaxes are the transfer syntaxes a StoragePolicy
// accepts: the uncompressed ones, deflate, and the compressed ones a
// study arrives in. Data sets are stored as they come, never transcoded.
var StorageTransferSyntaxes = []string{
	ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian,
	DeflatedExplicitVRLittle,
	JPEGBaseline, JPEGExtended, JPEGLossless, JPEGLosslessSV1,
	JPEGLSLossless, JPEGLSNearLossless,
	JPEG2000Lossless, JPEG2000,
	HTJ2KLossless, HTJ2KLosslessRPCL, HTJ2K,
	RLELossless,
}

// Policy says which presentation contexts an SCP accepts.
type Policy struct {
	// AbstractSyntaxes are the SOP classes accepted; Verification is
	// always accepted.
	AbstractSyntaxes []string
	// TransferSyntaxes are those accepted for every SOP class but
	// Verification, which takes the uncompressed ones only.
	TransferSyntaxes []string
}

// StoragePolicy accepts Verification and the StorageSOPClasses in the
// StorageTransferSyntaxes.
func StoragePolicy() Policy {
	return Policy{
		AbstractSyntaxes: slices.Clone(StorageSOPClasses),
		TransferSyntaxes: slices.Clone(StorageTransferSyntaxes),
	}
}

// Accept answers a proposed context: the first of its transfer syntaxes,
// in the proposer's order of preference, that the policy accepts.
func (p Policy) Accept(c Context) Context {
	ans := Context{ID: c.ID, AbstractSyntax: c.AbstractSyntax}
	ok := slices.Contains(p.AbstractSyntaxes, c.AbstractSyntax)
	accepted := p.TransferSyntaxes
	if c.AbstractSyntax == Verification {
		ok = true
		accepted = []string{ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian}
	}
	if !ok {
		ans.Result = AbstractSyntaxNotSupported
		// PS3.8 9.3.3.2: the transfer syntax is not significant, but
		// some peers parse it; send one they proposed.
		ans.TransferSyntaxes = c.TransferSyntaxes[:1]
		return ans
	}
	for _, ts := range c.TransferSyntaxes {
		if slices.Contains(accepted, ts) {
			ans.TransferSyntaxes = []string{ts}
			return ans
		}
	}
	ans.Result = TransferSyntaxNotSupported
	ans.TransferSyntaxes = c.TransferSyntaxes[:1]
	return ans
}
