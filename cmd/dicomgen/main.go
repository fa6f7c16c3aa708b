// Command dicomgen writes synthetic DICOM studies for tests, demos and
// benchmarks, or replicates a real series with fresh UIDs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"imageshare/synthetic"
)

const usage = `dicomgen writes synthetic DICOM studies (CT, Explicit VR Little Endian)
with fresh UIDs, or copies a real series several times with fresh UIDs.

Usage:
    dicomgen -out DIR [-series N] [-images N] [-rows N -cols N] [-seed N] [-patient NAME]
    dicomgen -replicate SRC -copies N -out DIR [-seed N]

Examples:
    dicomgen -out study -series 3 -images 100
    dicomgen -replicate ../shared/dicom/ct-pancreas/CT_series -copies 15 -out big

EXIT STATUS
    0 written; 1 error; 2 bad usage
`

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dicomgen", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("out", "", "")
	series := fs.Int("series", 1, "")
	images := fs.Int("images", 10, "")
	rows := fs.Int("rows", 512, "")
	cols := fs.Int("cols", 512, "")
	seed := fs.Int64("seed", 1, "")
	patient := fs.String("patient", "", "")
	replicate := fs.String("replicate", "", "")
	copies := fs.Int("copies", 1, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "dicomgen: error: %v\n%s", err, usage)
		return 2
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, "dicomgen: error: -out DIR is required and no arguments are taken\n"+usage)
		return 2
	}
	var res *synthetic.Result
	var err error
	if *replicate != "" {
		res, err = synthetic.Replicate(*replicate, *out, *copies, *seed)
	} else {
		res, err = synthetic.Write(synthetic.Options{
			Dir: *out, PatientName: *patient, Series: *series, Images: *images,
			Rows: *rows, Columns: *cols, Seed: *seed,
		})
	}
	if err != nil {
		fmt.Fprintf(stderr, "dicomgen: error: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d files, %d bytes, study %s\n", *out, len(res.Files), res.Bytes, res.StudyUID)
	return 0
}
