// Package reconcile prepares a received study for the local PACS (IHE Import
// Reconciliation Workflow, IRWF.b): Coerce rewrites an instance under the
// local patient record, keeping the sender's values in Original Attributes
// Sequence (0400,0561); EncapsulatedPDF and BasicTextSR wrap the report that
// came with the study as a DICOM instance of that study.
//
// Coerce streams: it holds the file's header in memory as far as (0010,1002),
// and Request Attributes Sequence (0040,0275) when the accession number
// changes, and copies the rest, pixel data included, element by element.
// It changes only top-level elements and the items of (0040,0275), and
// walks anything else nested by its lengths and delimiters.
//
//	preamble[128] "DICM" meta-group      copied as read; names the transfer syntax
//	  or, for a bare data set:           made: (0002,0000-0003,0010,0012,0013),
//	                                     from (0008,0016) (0008,0018) and the
//	                                     first element's form (implicit/explicit
//	                                     VR little endian); a meta group without
//	                                     preamble gets preamble and "DICM"
//	data set (deflated: after inflating)
//	  elements through (0010,1002)      read into memory: the values to change,
//	                                     (0008,0005) for the character set
//	  -- decide: nothing changes → copy the file as read, byte for byte
//	     (after the header, if made); which character set the new values
//	     take, and whether the copy is converted to UTF-8
//	  (gggg,0000)                        dropped if their group changes (all, if converted)
//	  (0008,0005)                        "ISO_IR 192" if converted
//	  (0008,0050) (0010,0010)           replaced, or inserted in tag order
//	  (0010,0020) (0010,0021)
//	  (0010,0030) (0010,0040)
//	  (0008,0051) (0010,0024)           removed: with a new accession number;
//	                                     with a new patient ID or issuer
//	  (0010,0021)                        removed with a new patient ID and no issuer
//	  (0010,1002) SQ                    with a new patient ID: one item appended:
//	    item                              the sender's (0010,0020) (0010,0021)
//	                                      (0010,0022)="TEXT" (0010,0024)
//	  elements up to (0400,0561)        copied (converted); (0400,0000) dropped
//	  (0040,0275) SQ                    with a new accession number: read into
//	                                     memory (≤ 1 MiB), in each item (0008,0050)
//	                                     replaced and (0008,0051) removed
//	  (0400,0561) SQ                    its items copied, one item appended,
//	    item                              made now that (0040,0275) is read:
//	                                      (0400,0550) SQ { item: the originals
//	                                        as read, in tag order, with the
//	                                        original (0008,0005) if converted }
//	                                      (0400,0562) DT (0400,0563) LO
//	                                      (0400,0564) LO (0400,0565) CS
//	                                    or, if absent, written with that item
//	  elements after it, pixel data     copied (converted, but for pixel data)
//	  (re-deflated for a deflated transfer syntax)
//
// Every transfer syntax is read: implicit VR little endian, explicit VR big
// endian, deflated explicit VR little endian, and explicit VR little endian
// for all others, the compressed ones included (PS3.5 A.4). New elements are
// written in the file's own encoding. Sequences and items of undefined length
// are walked to their delimiters, so a truncated file is found anywhere in it.
//
// Character sets. A new value goes into the file's Specific Character Set
// (0008,0005) if that can hold it: any value in ISO_IR 192 (UTF-8), ASCII
// where (0008,0005) is absent, and what the single-byte sets of PS3.3
// C.12.1.1.2 hold (ISO_IR 100, 101, 109, 110, 126, 127, 138, 144, 148, 166,
// 203), encoded in them. Otherwise the copy is converted to UTF-8: every
// value of VR SH, LO, ST, LT, PN, UC and UT, in sequences too, is decoded
// from the file's character set; sequences and items whose lengths change
// are written with undefined lengths, and group lengths are dropped. VR
// lengths count characters, which a single-byte set and UTF-8 have as many
// of. An item with its own (0008,0005) is copied as it is: its values are
// in the set it names. The originals in the new item of (0400,0550) stay as
// read, with the original (0008,0005), so that item's values are read in
// the set they were written in. A file in ISO 2022 code extensions (a value
// naming "ISO 2022") or in a set Coerce does not know (ISO_IR 13, GB18030,
// GBK, a misspelt term) cannot be converted: a new value must be ASCII.
//
// Implicit VR files carry no VR: Coerce takes it from the standard's data
// dictionary (PS3.6, github.com/suyashkumar/dicom's), and LO for private
// creators. A value whose VR it cannot know, a private element or a tag the
// dictionary lacks, or an explicit VR UN, may be text: it is copied if it is
// ASCII, the same in every set, and otherwise the conversion is refused with
// a *ValueError naming (0008,0005) and the element, rather than guessed at.
// Text mislabelled as UTF-8 would be wrong without a trace. As the refusal
// can come from an element far into the file, it can come after part of the
// copy is written.
package reconcile
