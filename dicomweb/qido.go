package dicomweb

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// A StudyQuery selects studies; empty fields match everything.
type StudyQuery struct {
	PatientID string
	// StudyDate is a date YYYYMMDD or a range: YYYYMMDD-YYYYMMDD, or one
	// open at either end (-YYYYMMDD, YYYYMMDD-).
	StudyDate       string
	AccessionNumber string
	// PatientName is DICOM PN, e.g. "DOE^JANE"; a * in it matches any
	// characters, as QIDO-RS wildcard matching does.
	PatientName string
}

// A StudyMatch is one study a PACS found.
type StudyMatch struct {
	StudyInstanceUID string
	PatientName      string // DICOM PN, e.g. "DOE^JANE"
	PatientID        string
	StudyDate        string // YYYYMMDD
	StudyDescription string
	AccessionNumber  string
	// ModalitiesInStudy lists the modalities, e.g. CT, SR.
	ModalitiesInStudy []string
	// NumberOfStudyRelatedSeries and NumberOfStudyRelatedInstances are
	// 0 when the PACS did not say.
	NumberOfStudyRelatedSeries    int
	NumberOfStudyRelatedInstances int
}

// SearchStudies finds the studies that match q with QIDO-RS
// (GET {Base}/studies), following pages.
func (c *Client) SearchStudies(ctx context.Context, q StudyQuery) ([]StudyMatch, error) {
	if q.StudyDate != "" && !validDateRange(q.StudyDate) {
		return nil, fmt.Errorf("study date %q: want YYYYMMDD or a range YYYYMMDD-YYYYMMDD", q.StudyDate)
	}
	query := url.Values{}
	for key, value := range map[string]string{
		"PatientID":       q.PatientID,
		"StudyDate":       q.StudyDate,
		"AccessionNumber": q.AccessionNumber,
		"PatientName":     q.PatientName,
	} {
		if value != "" {
			query.Set(key, value)
		}
	}
	// Attributes a PACS need not return unasked (PS3.18 table 6.7.1-2).
	for _, tag := range []string{tagStudyDescription, tagModalitiesInStudy, tagNumberOfStudyRelatedSeries, tagNumberOfStudyRelatedInstances} {
		query.Add("includefield", tag)
	}
	var matches []StudyMatch
	seen := map[string]bool{}
	err := c.query(ctx, "/studies", query, false, func(d dataset) bool {
		uid := d.string(tagStudyInstanceUID)
		if uid == "" || seen[uid] {
			return false
		}
		seen[uid] = true
		n, _ := d.int(tagNumberOfStudyRelatedInstances)
		series, _ := d.int(tagNumberOfStudyRelatedSeries)
		matches = append(matches, StudyMatch{
			StudyInstanceUID:              uid,
			PatientName:                   d.string(tagPatientName),
			PatientID:                     d.string(tagPatientID),
			StudyDate:                     d.string(tagStudyDate),
			StudyDescription:              d.string(tagStudyDescription),
			AccessionNumber:               d.string(tagAccessionNumber),
			ModalitiesInStudy:             d.strings(tagModalitiesInStudy),
			NumberOfStudyRelatedSeries:    int(series),
			NumberOfStudyRelatedInstances: int(n),
		})
		return true
	})
	return matches, err
}

// validDateRange checks a DA value or range (PS3.18 8.3.4.1 and PS3.4
// C.2.2.2.5): YYYYMMDD, YYYYMMDD-YYYYMMDD, -YYYYMMDD or YYYYMMDD-.
func validDateRange(s string) bool {
	date := func(d string) bool {
		if len(d) != 8 {
			return false
		}
		for i := 0; i < 8; i++ {
			if d[i] < '0' || d[i] > '9' {
				return false
			}
		}
		return true
	}
	switch {
	case len(s) == 8:
		return date(s)
	case len(s) == 9 && s[0] == '-':
		return date(s[1:])
	case len(s) == 9 && s[8] == '-':
		return date(s[:8])
	case len(s) == 17 && s[8] == '-':
		return date(s[:8]) && date(s[9:])
	}
	return false
}

// Instances returns the SOP Instance UIDs of the study's instances with
// QIDO-RS (GET {Base}/studies/{uid}/instances), following pages. A study
// the PACS does not have has none, whether the PACS answers that with an
// empty list (Orthanc), 204 or 404.
func (c *Client) Instances(ctx context.Context, studyUID string) ([]string, error) {
	if err := checkStudyUID(studyUID); err != nil {
		return nil, err
	}
	var uids []string
	seen := map[string]bool{}
	err := c.query(ctx, "/studies/"+studyUID+"/instances", url.Values{}, true, func(d dataset) bool {
		uid := d.string(tagSOPInstanceUID)
		if uid == "" || seen[uid] {
			return false
		}
		seen[uid] = true
		uids = append(uids, uid)
		return true
	})
	if err != nil {
		return nil, err
	}
	return uids, nil
}

// Verify asks the PACS, with QIDO-RS, which instances of the study it
// holds under patientID, and returns those of want that it does not, in
// want's order. The search matches Patient ID (0010,0020) and asks for it
// back (includefield), and an instance the PACS lists under any other ID
// counts as missing even if the PACS ignored the match: an older copy of
// the study filed under another patient does not satisfy it.
func (c *Client) Verify(ctx context.Context, studyUID, patientID string, want []string) (missing []string, err error) {
	if err := checkStudyUID(studyUID); err != nil {
		return nil, err
	}
	query := url.Values{}
	query.Set(tagPatientID, patientID)
	query.Add("includefield", tagPatientID)
	var have []string
	seen := map[string]bool{}
	err = c.query(ctx, "/studies/"+studyUID+"/instances", query, true, func(d dataset) bool {
		uid := d.string(tagSOPInstanceUID)
		key := uid + "\x00" + d.string(tagPatientID)
		if uid == "" || seen[key] {
			return false
		}
		seen[key] = true
		if d.string(tagPatientID) == patientID {
			have = append(have, uid)
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("checking study %s in the PACS: %w", studyUID, err)
	}
	slices.Sort(have)
	for _, uid := range want {
		if _, found := slices.BinarySearch(have, uid); !found {
			missing = append(missing, uid)
		}
	}
	return missing, nil
}

// query runs a QIDO-RS search page by page (limit and offset) and hands
// each result to each, which says whether it was new. It stops at a page
// shorter than asked for, or one with nothing new: a PACS that ignores
// offset would send the same page forever. HTTP 204 is no result, and so
// is 404 when notFoundIsEmpty (a study the PACS does not have).
func (c *Client) query(ctx context.Context, path string, query url.Values, notFoundIsEmpty bool, each func(dataset) bool) error {
	size := c.pageSize
	if size <= 0 {
		size = defaultPageSize
	}
	for offset := 0; ; {
		query.Set("limit", strconv.Itoa(size))
		query.Set("offset", strconv.Itoa(offset))
		req, err := c.newRequest(ctx, http.MethodGet, path, query, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "application/dicom+json")
		page, err := c.getDatasets(req, notFoundIsEmpty)
		if err != nil {
			return err
		}
		fresh := 0
		for _, d := range page {
			if each(d) {
				fresh++
			}
		}
		if len(page) < size || fresh == 0 {
			return nil
		}
		offset += len(page)
	}
}

// getDatasets sends a QIDO-RS request and reads its DICOM JSON answer.
func (c *Client) getDatasets(req *http.Request, notFoundIsEmpty bool) ([]dataset, error) {
	resp, err := c.do(req)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusNoContent || (resp.StatusCode == http.StatusNotFound && notFoundIsEmpty):
		resp.Body.Close()
		return nil, nil
	case resp.StatusCode/100 != 2:
		return nil, statusError(resp)
	}
	defer resp.Body.Close()
	b, err := readLimited(resp.Body, MaxJSONBytes, "the QIDO-RS answer")
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", req.URL, err)
	}
	ds, err := parseDatasets(b)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", req.URL, err)
	}
	return ds, nil
}
