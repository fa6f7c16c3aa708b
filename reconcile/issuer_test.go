package reconcile

import (
	"path/filepath"
	"strings"
	"testing"

	"imageshare/internal/dataset"
)

// TestCoerceIssuers checks what changes with the patient ID and the
// accession number, in each encoding: the sender's issuers go, its ID
// moves to Other Patient IDs Sequence (0010,1002), the requests take the
// new accession number, and every value replaced or removed is in the new
// item of (0400,0561).
func TestCoerceIssuers(t *testing.T) {
	tool(t, "dcmdump")
	for _, sx := range syntaxes {
		t.Run(sx.name, func(t *testing.T) {
			dir := t.TempDir()
			in := syntheticFile(t, sx.ts, sx.uid, syntheticOptions{issuers: true, groupLengths: true})
			c := testChanges
			c.PatientBirthDate, c.PatientSex = "19691231", "M"
			out, err := coerce(t, in, c, testMod)
			if err != nil {
				t.Fatalf("Coerce: %v", err)
			}
			p := filepath.Join(dir, "out.dcm")
			writeFile(t, p, out)
			d, warnings := dcmdump(t, p)
			if warnings != "" {
				t.Errorf("dcmdump warns:\n%s", warnings)
			}
			for tag, v := range map[string]string{
				"0008,0050": c.AccessionNumber, "0010,0010": c.PatientName, "0010,0020": c.PatientID,
				"0010,0021": c.IssuerOfPatientID, "0010,0030": c.PatientBirthDate, "0010,0040": c.PatientSex,
			} {
				if got, _ := d.text(tag); got != v {
					t.Errorf("(%s) = %q, want %q", tag, got, v)
				}
			}
			for _, tag := range []string{"0008,0051", "0010,0024", "0040,0000"} {
				if d.get(tag) != nil {
					t.Errorf("(%s) kept", tag)
				}
			}
			opids := d.get("0010,1002")
			if opids == nil || len(opids.kids) != 2 {
				t.Fatalf("(0010,1002): %+v, want the item it had and a new one", opids)
			}
			if v, _ := opids.kids[0].text("0010,0020"); v != "OTHER7" {
				t.Errorf("the first item of (0010,1002) holds %q, want the one the file had", v)
			}
			sender := opids.kids[1]
			for tag, v := range map[string]string{"0010,0020": "ID1", "0010,0021": "SENDER", "0010,0022": "TEXT"} {
				if got, _ := sender.text(tag); got != v {
					t.Errorf("the new item of (0010,1002): (%s) = %q, want %q", tag, got, v)
				}
			}
			if q := sender.get("0010,0024"); q == nil || len(q.kids) != 1 {
				t.Errorf("the new item of (0010,1002) lacks the sender's (0010,0024): %+v", q)
			}
			requests := d.get("0040,0275")
			if requests == nil || len(requests.kids) != 2 {
				t.Fatalf("(0040,0275): %+v, want two items", requests)
			}
			for i, it := range requests.kids {
				if v, _ := it.text("0008,0050"); v != c.AccessionNumber {
					t.Errorf("item %d of (0040,0275): (0008,0050) = %q, want %q", i, v, c.AccessionNumber)
				}
				if it.get("0008,0051") != nil || it.get("0008,0000") != nil {
					t.Errorf("item %d of (0040,0275) keeps (0008,0051) or a group length", i)
				}
			}
			if v, _ := requests.kids[0].text("0040,1001"); v != "RP1" {
				t.Errorf("item 1 of (0040,0275) lost its other elements: (0040,1001) = %q", v)
			}

			seq := d.get("0400,0561")
			if seq == nil || len(seq.kids) != 1 {
				t.Fatalf("(0400,0561): %+v, want one item", seq)
			}
			modified := seq.kids[0].get("0400,0550")
			if modified == nil || len(modified.kids) != 1 {
				t.Fatalf("(0400,0550): %+v, want one item", modified)
			}
			originals := modified.kids[0]
			var tags []string
			for _, k := range originals.kids {
				tags = append(tags, k.tag)
			}
			want := "0008,0050 0008,0051 0010,0010 0010,0020 0010,0021 0010,0024 0010,0030 0010,0040 0010,1002 0040,0275"
			if got := strings.Join(tags, " "); got != want {
				t.Errorf("(0400,0550) holds %s, want %s in tag order", got, want)
			}
			if o := originals.get("0010,1002"); o == nil || len(o.kids) != 1 {
				t.Errorf("original (0010,1002) %+v, want its one item", o)
			}
			if o := originals.get("0040,0275"); o == nil || len(o.kids) != 2 || o.kids[0].get("0008,0051") == nil {
				t.Errorf("original (0040,0275) %+v, want it whole", o)
			} else if v, _ := o.kids[1].text("0008,0050"); v != "ACC1-B" {
				t.Errorf("original (0040,0275) item 2 accession %q", v)
			}
			for tag, v := range map[string]string{"0010,0030": "19700101", "0010,0040": "F", "0010,0021": "SENDER"} {
				if got, _ := originals.text(tag); got != v {
					t.Errorf("original (%s) = %q, want %q", tag, got, v)
				}
			}

			// A new ID without an issuer: the sender's goes, not kept next
			// to a local ID.
			out, err = coerce(t, in, Changes{PatientID: "MRN9"}, testMod)
			if err != nil {
				t.Fatalf("Coerce: %v", err)
			}
			writeFile(t, p, out)
			d, _ = dcmdump(t, p)
			if d.get("0010,0021") != nil || d.get("0010,0024") != nil {
				t.Errorf("the sender's issuer kept next to a local ID given without one")
			}
			if o := d.get("0010,1002"); o == nil || len(o.kids) != 2 {
				t.Errorf("(0010,1002): %+v, want two items", o)
			} else if v, _ := o.kids[1].text("0010,0021"); v != "SENDER" {
				t.Errorf("(0010,1002) keeps issuer %q, want SENDER", v)
			}
			if d.get("0008,0051") == nil {
				t.Errorf("(0008,0051) dropped, though the accession number stays")
			}
			if v, _ := d.get("0040,0275").kids[0].text("0008,0050"); v != "ACC1" {
				t.Errorf("(0040,0275) rewritten, though the accession number stays: %q", v)
			}
		})
	}
}

// TestCoerceRequestsLimit checks that a Request Attributes Sequence too
// large to rewrite in memory is refused, by name.
func TestCoerceRequestsLimit(t *testing.T) {
	in := syntheticFile(t, dataset.ExplicitLE, dataset.UIDExplicitVRLittleEndian, syntheticOptions{noPixels: true})
	big := dataset.ExplicitLE.AppendText(nil, 0x00321060, "LT", strings.Repeat("x", 60000))
	var items [][]byte
	for range 20 {
		items = append(items, big)
	}
	in = dataset.ExplicitLE.AppendSequence(in, dataset.Tag(tagRequestAttributesSeq), items...)
	_, err := coerce(t, in, Changes{AccessionNumber: "A2"}, testMod)
	if err == nil || !strings.Contains(err.Error(), "(0040,0275) Request Attributes Sequence at byte") || !strings.Contains(err.Error(), "over 1024 KiB") {
		t.Fatalf("Coerce: %v, want an error naming (0040,0275) and the limit", err)
	}
	if _, err := coerce(t, in, Changes{PatientID: "P2"}, testMod); err != nil {
		t.Fatalf("Coerce without a new accession number: %v", err)
	}
}
