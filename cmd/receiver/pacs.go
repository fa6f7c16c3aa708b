package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"imageshare/audit"
	"imageshare/console"
	"imageshare/dicomweb"
	"imageshare/receive"
	"imageshare/reconcile"
	"imageshare/study"
	"imageshare/transfer"
)

// pacsOptions say where the received study goes and under which local
// patient record (IHE Import Reconciliation, IRWF.b), as the flags and the
// station's configuration give them; receive.ImportOptions is what the
// import takes.
type pacsOptions struct {
	url              string  // --to-dicomweb: the DICOMweb root of the local PACS
	credentialsFile  string  // --dicomweb-credentials: "user:password" for it
	patientID        string  // --local-patient-id
	issuer           string  // --issuer, or the station's configured issuer
	issuerFromConfig bool    // issuer came from the configuration, not a flag
	accession        string  // --local-accession
	name             string  // --local-name, e.g. "TRAUMA^ALPHA"
	birthDate        string  // --local-birth-date, YYYYMMDD
	sex              string  // --local-sex, M, F or O
	batch            float64 // --stow-batch: bytes a STOW-RS request carries at most, 0 for the default
}

// local are the local values staff gave, as package receive takes them.
func (p *pacsOptions) local() receive.Local {
	return receive.Local{PatientID: p.patientID, Issuer: p.issuer, Accession: p.accession, Name: p.name,
		BirthDate: p.birthDate, Sex: p.sex}
}

// changes are the local values the PACS copies get.
func (p *pacsOptions) changes() reconcile.Changes { return p.local().Changes() }

func (p *pacsOptions) reconciles() bool { return p.changes() != reconcile.Changes{} }

// importOptions are the options of the import into the PACS.
func (p *pacsOptions) importOptions() receive.ImportOptions {
	return receive.ImportOptions{URL: p.url, CredentialsFile: p.credentialsFile, Changes: p.changes(), BatchBytes: int64(p.batch)}
}

// check refuses, before anything is fetched: reconciliation without a PACS
// (it changes only the copies that go there); a local patient ID without
// this hospital's issuer (it would be filed under the sender's); values
// that cannot be written (receive.Local.Check, which the station's page
// runs too); and a PACS address that carries a password (argv is readable
// by every user of the machine).
func (p *pacsOptions) check(configPath string) error {
	err := p.local().Check(p.url != "", p.issuerFromConfig)
	if p.url == "" {
		if err != nil {
			return &usageError{"--local-patient-id, --issuer, --local-accession, --local-name, --local-birth-date and --local-sex apply to the copies sent to the PACS: give --to-dicomweb URL too (the received folder always keeps the sender's originals)"}
		}
		if p.credentialsFile != "" {
			return &usageError{"--dicomweb-credentials needs --to-dicomweb URL"}
		}
		return nil
	}
	if err := dicomweb.CheckRoot(p.url); err != nil {
		return &usageError{"--to-dicomweb: " + err.Error()}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, receive.ErrIssuerWithoutID):
		return &usageError{"--issuer names the issuer of --local-patient-id: give both"}
	case errors.Is(err, receive.ErrIDWithoutIssuer):
		where := "set issuer in " + configPathOrDefault(configPath)
		return &usageError{"--local-patient-id needs this hospital's issuer of patient IDs, or the PACS would file a local ID under the sending hospital's issuer: give --issuer, or " + where}
	}
	return &usageError{err.Error()}
}

func configPathOrDefault(path string) string {
	if path != "" {
		return path
	}
	if d := defaultConfigPath(); d != "" {
		return d
	}
	return "the station's receiver.toml (--config FILE)"
}

// checkStudies refuses local values that cannot apply to the offer's
// studies: one local accession number names one study.
func (p *pacsOptions) checkStudies(studies []study.Summary) error {
	o := receive.ImportOptions{URL: p.url, Changes: p.changes()}
	if p.url != "" && errors.Is(o.CheckStudies(studies), receive.ErrOneAccession) {
		return &usageError{fmt.Sprintf("--local-accession names one study, and this offer holds %d; fetch without it, then give each study its accession in the PACS", len(studies))}
	}
	return nil
}

// redactedURL is the PACS address as it may be printed and logged.
func (p *pacsOptions) redactedURL() string { return receive.RedactedURL(p.url) }

// errImportPartial: the study is verified and saved in the folder, but
// some of its instances are not in the PACS.
var errImportPartial = receive.ErrImportPartial

type (
	importInput  = receive.ImportInput
	importResult = receive.ImportResult
)

// importToPACS stores the verified study in into the PACS (receive.Import),
// printing its events on stderr and, with --json, on stdout.
func importToPACS(ctx context.Context, o *fetchOptions, in *importInput, stderr io.Writer, js *console.JSON, me audit.Participant) (*importResult, error) {
	if err := o.pacs.checkStudies(in.Studies); err != nil {
		return nil, fmt.Errorf("%w: %w", errImportPartial, err)
	}
	// Read here too, to name the flag in what is wrong with the file.
	if _, err := dicomweb.WithCredentials(o.pacs.url, o.pacs.credentialsFile); err != nil {
		return nil, fmt.Errorf("%w: --dicomweb-credentials: %w", errImportPartial, err)
	}
	opts := o.pacs.importOptions()
	opts.WorkDir = filepath.Join(o.out, ".imageshare")
	opts.Trail, opts.Station = o.trail, me
	p := &importPrinter{stderr: stderr, js: js, bars: !o.quiet && !o.json}
	return receive.Import(ctx, opts, in, p.event)
}

// manifestInput is the study just received, in dir.
func manifestInput(m *transfer.Manifest, dir string) *importInput {
	return receive.ManifestInput(m, dir)
}

// describeChanges says what reconciliation changes, e.g.
// `patient ID "SYN000005" → "MRN123"`.
func describeChanges(s study.Summary, c reconcile.Changes) string {
	return receive.DescribeChanges(s, c)
}
