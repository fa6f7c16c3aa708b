// Package dicomweb is a client for a PACS's DICOMweb API (DICOM PS3.18):
// it finds studies and instances with QIDO-RS, retrieves a study with
// WADO-RS and stores instances with STOW-RS. Orthanc's DICOMweb plugin is
// the reference server it is tested against.
//
// A Client is made from the DICOMweb root, e.g.
// http://pacs.example.org:8042/dicom-web. A user and password in that URL
// are sent as HTTP basic authentication; no error, and nothing else the
// package returns, ever shows the password or the user.
//
// # What goes over the wire
//
//	QIDO-RS  GET  {root}/studies?PatientID=…&includefield=…      Accept: application/dicom+json
//	         GET  {root}/studies/{study}/instances?limit=…&offset=…
//	WADO-RS  GET  {root}/studies/{study}
//	              Accept: multipart/related; type="application/dicom"; transfer-syntax=*
//	STOW-RS  POST {root}/studies
//	              Content-Type: multipart/related; type="application/dicom"; boundary=…
//	              one part per instance, Content-Type: application/dicom
//
// Retrieved parts are streamed to files, never held in memory; stored files
// are streamed from disk in batches of about StoreOptions.BatchBytes.
//
// # What a STOW-RS answer means
//
// The answer lists instances in the Referenced SOP Sequence (0008,1199),
// stored, possibly with a Warning Reason (0008,1196), and in the Failed SOP
// Sequence (0008,1198) with a Failure Reason (0008,1197). HTTP 200 says all
// were stored, 202 some, 409 none; Orthanc also answers 400, with the
// sequences, when a part is not DICOM. Store trusts the sequences rather
// than the status, and treats an instance in neither as not stored: Orthanc
// 1.10 with DICOMweb 1.7, when it refuses an instance (a Lua filter raising
// an error, say), answers 200, lists the instances stored before it, and
// stores neither it nor any after it in the request. Store sends such
// instances again, the first of them alone, so that only the refused ones
// fail. An instance that a filter discards while answering success is
// listed as stored: only Verify, which asks the PACS what it holds, finds
// it missing.
//
// Store retries what may succeed later, at most StoreOptions.Retries times
// after 1 s, 2 s, 4 s…: a request that got no answer, HTTP 408, 429 and 5xx
// (after Retry-After, up to 30 s, when the PACS gives one), and instances
// failed for lack of resources (0xA700–0xA7FF) or a processing failure
// (0x0110). It never retries an instance the PACS cannot understand or
// that does not match its SOP class (0xA900, 0xC000–0xCFFF), nor an
// unsupported SOP class (0x0122) or a refusal (0x0124).
package dicomweb
