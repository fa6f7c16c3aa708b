package receiving

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"slices"

	"imageshare/audit"
	"imageshare/station"
	"imageshare/study"
)

// Received is one study received on this station, as the audit trail
// has it.
type Received struct {
	Time    string `json:"time"` // local time
	From    string `json:"from"` // the sending site, or its peer ID
	Patient string `json:"patient"`
	State   string `json:"state"` // received, in the PACS, partly in the PACS, refused
	Dir     string `json:"dir"`
	offer   string
}

// maxHistory is how many studies the page lists, the latest first.
const maxHistory = 50

// history serves the studies received on this station, from its audit
// trail: each study received and verified (Import), what the PACS took
// of it (Instances Sent, by offer), and the studies refused as not what
// was shown (a content mismatch alert).
func (p *page) history(w http.ResponseWriter, r *http.Request) {
	list, err := readHistory(p.cfg.AuditFile)
	if err != nil {
		problem(w, http.StatusInternalServerError, "The audit trail cannot be read: "+err.Error(), "")
		return
	}
	station.WriteJSON(w, http.StatusOK, list)
}

// readHistory reads the trail at path ("" for the receiver's default).
func readHistory(path string) ([]Received, error) {
	if path == "" {
		var err error
		if path, err = audit.DefaultPath("receiver"); err != nil {
			return nil, err
		}
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return []Received{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var list []Received
	byOffer := map[string]int{}
	audit.Read(f, func(e audit.Event) error { // bad lines are skipped
		offer, patient := objects(e)
		switch {
		case e.EventID.Code == audit.CodeImport:
			rec := Received{Time: e.Time.Local().Format("2 Jan 2006 15:04"), From: source(e), Patient: patient, State: "received", offer: offer}
			if d, ok := e.Detail["dir"].(string); ok {
				rec.Dir = d
			}
			byOffer[offer] = len(list)
			list = append(list, rec)
		case e.EventID.Code == audit.CodeInstancesTransferred && e.Action == audit.ActionRead:
			// The import into the PACS of a study received.
			if i, ok := byOffer[offer]; ok && offer != "" {
				list[i].State = "in the PACS"
				if e.Outcome != audit.Success {
					list[i].State = "partly in the PACS"
				}
			}
		case e.EventID.Code == audit.CodeSecurityAlert && isMismatch(e):
			list = append(list, Received{Time: e.Time.Local().Format("2 Jan 2006 15:04"), From: source(e), Patient: patient,
				State: "refused: not the study shown", offer: offer})
		}
		return nil
	})
	slices.Reverse(list)
	if len(list) > maxHistory {
		list = list[:maxHistory]
	}
	for i := range list {
		if list[i].Patient != "" {
			list[i].Patient = study.FormatName(list[i].Patient)
		}
	}
	if list == nil {
		list = []Received{}
	}
	return list, nil
}

// source is where the study came from: the sending site, or its peer ID.
func source(e audit.Event) string {
	for _, pt := range e.Participants {
		if pt.Role == audit.RoleSource {
			if pt.Site != "" {
				return pt.Site
			}
			return pt.PeerID
		}
	}
	return ""
}

// objects returns the offer ID and the patient's name an event is about.
func objects(e audit.Event) (offer, patient string) {
	for _, o := range e.Objects {
		switch o.Type {
		case audit.ObjectOffer:
			offer = o.ID
		case audit.ObjectPatient:
			patient = o.Name
			if patient == "" {
				patient = o.ID
			}
		}
	}
	return offer, patient
}

// isMismatch reports whether the alert e refused a study as not the one
// shown.
func isMismatch(e audit.Event) bool {
	kind, _ := e.Detail["alert"].(string)
	return kind == string(audit.AlertContentMismatch)
}
