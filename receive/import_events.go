package receive

import "imageshare/study"

// ImportEvent is what Import reports as it goes, and what the checks of a
// received folder report: one of the pointer types below. Its JSON, with
// "type" set to EventType, is the line a script reads.
type ImportEvent interface {
	EventType() string
}

// Reconciling: the PACS copies get local values; the folder keeps the
// sender's originals.
type Reconciling struct {
	Changes string `json:"changes"` // as DescribeChanges says them
}

// ReportNotStored: the report could not be made a DICOM instance, and
// stays in the folder only. The import goes on.
type ReportNotStored struct {
	File   string `json:"file"` // its name in the study folder
	Reason string `json:"reason"`
}

// Storing: the instances are being sent to the PACS.
type Storing struct {
	URL       string `json:"url"` // without credentials
	Instances int    `json:"instances"`
}

// PACSProgress: Settled of Total instances are stored, or failed for
// good.
type PACSProgress struct {
	Settled int `json:"settled"`
	Total   int `json:"total"`
}

// Imported is the end of an import: what the PACS holds, checked by
// QIDO-RS. Failed is empty when every instance is there.
type Imported struct {
	URL        string          `json:"url"` // without credentials
	Stored     int             `json:"stored"`
	Failed     []ImportFailure `json:"failed"`
	Report     string          `json:"report"` // how the report was stored, or why not; "" without one
	Reconciled bool            `json:"reconciled"`
	Seconds    float64         `json:"seconds"`
	Dir        string          `json:"-"` // the study folder, where the files not stored stay
}

// Mismatch: the files received are not the study that was shown to
// staff (RefuseMismatch); they may be another patient's, and nothing goes
// to the PACS.
type Mismatch struct {
	Mismatches []study.Mismatch `json:"mismatches"`
}

// EventType names the event in JSON.
func (*Reconciling) EventType() string { return "pacs_reconciling" }

// EventType names the event in JSON.
func (*ReportNotStored) EventType() string { return "pacs_report_not_stored" }

// EventType names the event in JSON.
func (*Storing) EventType() string { return "pacs_storing" }

// EventType names the event in JSON.
func (*PACSProgress) EventType() string { return "pacs_progress" }

// EventType names the event in JSON.
func (*Imported) EventType() string { return "pacs" }

// EventType names the event in JSON.
func (*Mismatch) EventType() string { return "mismatch" }

var (
	_ ImportEvent = (*Reconciling)(nil)
	_ ImportEvent = (*ReportNotStored)(nil)
	_ ImportEvent = (*Storing)(nil)
	_ ImportEvent = (*PACSProgress)(nil)
	_ ImportEvent = (*Imported)(nil)
	_ ImportEvent = (*Mismatch)(nil)
)
