// Package reconcile prepares a received study for the local PACS (IHE Import
// Reconciliation Workflow, IRWF.b): Coerce rewrites an instance under the
// local patient record, keeping the sender's values in Original Attributes
// Sequence (0400,0561); EncapsulatedPDF and BasicTextSR wrap the report that
// came with the study as a DICOM instance of that study.
//
// Coerce streams: it holds the file's header in memory as far as (0010,0021)
// and copies the rest, pixel data included, element by element. It knows no
// data dictionary; it needs none, as it changes only top-level elements and
// walks anything nested by its lengths and delimiters.
//
//	preamble[128] "DICM" meta-group      copied as read; names the transfer syntax
//	data set (deflated: after inflating)
//	  elements through (0010,0021)      read into memory: the values to change,
//	                                     (0008,0005) for the character set
//	  -- decide: nothing changes → copy the file as read, byte for byte
//	  (0008,0000) (0010,0000)           dropped if their group changes
//	  (0008,0050) (0010,0010)           replaced, or inserted in tag order
//	  (0010,0020) (0010,0021)
//	  elements up to (0400,0561)        copied; (0400,0000) dropped
//	  (0400,0561) SQ                    its items copied, one item appended:
//	    item                              (0400,0550) SQ { item: the originals }
//	                                      (0400,0562) DT (0400,0563) LO
//	                                      (0400,0564) LO (0400,0565) CS
//	                                    or, if absent, written with that item
//	  elements after it, pixel data     copied
//	  (re-deflated for a deflated transfer syntax)
//
// Every transfer syntax is read: implicit VR little endian, explicit VR big
// endian, deflated explicit VR little endian, and explicit VR little endian
// for all others, the compressed ones included (PS3.5 A.4). New elements are
// written in the file's own encoding. Sequences and items of undefined length
// are walked to their delimiters, so a truncated file is found anywhere in it;
// a file without preamble and "DICM" is refused.
package reconcile
