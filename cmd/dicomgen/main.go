// Command dicomgen writes synthetic DICOM studies for tests and benchmarks:
// a CT study made from nothing, or copies of a real series with fresh UIDs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"imageshare/console"
	"imageshare/internal/cli"
	"imageshare/study"
	"imageshare/synthetic"
)

const usage = `Usage:
  dicomgen -out DIR [-series N] [-images N] [-rows N -cols N] [-seed N] [-patient NAME]
  dicomgen -replicate SRC -copies N -out DIR [-seed N]

dicomgen writes synthetic DICOM for tests and benchmarks. The first form
writes one patient's CT study, DIR/series-NNN/IMNNNNN.dcm: 16-bit pixels
(12 stored) of a body phantom with noise, which compress like real CT. The
second copies the study in the folder SRC N times into one new study, as
DIR/copy-NNN/..., one new series per copy, changing only UIDs.

The same seed and options write the same bytes, UIDs included: give
another -seed for another study of the same patient and size.

Options:
  -out DIR        folder to write into (created if need be)
  -series N       series in the study (default 1)
  -images N       images per series (default 10)
  -rows N         rows of each image (default 512)
  -cols N         columns of each image (default 512)
  -patient NAME   patient's name, DICOM style (default SYNTHETIC^PATIENT)
  -seed N         seed of UIDs and pixels (default 1)
  -replicate SRC  folder holding one study to copy
  -copies N       copies of SRC to make (default 1)
  -version        print the version and exit

Examples:
  # A 10-image CT study, 5 MiB:
  dicomgen -out /tmp/ct

  # Two series of 300 images, the same every time:
  dicomgen -out /tmp/trauma -series 2 -images 300 -seed 1 -patient 'DOE^JOHN'

  # A 2 GB study made of the shared CT series (67 MiB) copied 30 times:
  dicomgen -replicate ../shared/dicom/ct-pancreas/CT_series -copies 30 -out /tmp/big

EXIT STATUS
  0    the files were written
  1    writing failed
  2    the command line is wrong
  130  interrupted before writing
`

func main() {
	ctx, stop := cli.NotifyContext(context.Background())
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs dicomgen with args and returns its exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dicomgen", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var (
		out       = fs.String("out", "", "")
		series    = fs.Int("series", 1, "")
		images    = fs.Int("images", 10, "")
		rows      = fs.Int("rows", 512, "")
		cols      = fs.Int("cols", 512, "")
		patient   = fs.String("patient", "", "")
		seed      = fs.Int64("seed", 1, "")
		replicate = fs.String("replicate", "", "")
		copies    = fs.Int("copies", 1, "")
		version   = fs.Bool("version", false, "")
	)
	usageError := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "dicomgen: error: "+format+"\n", a...)
		fmt.Fprintln(stderr, "hint: dicomgen -help shows the options")
		return 2
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		return usageError("%v", err)
	}
	if *version {
		fmt.Fprintln(stdout, "dicomgen", console.Version())
		return 0
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case fs.NArg() > 0:
		return usageError("unexpected argument %q", fs.Arg(0))
	case *out == "":
		return usageError("-out DIR is required")
	case *replicate != "":
		for _, name := range []string{"series", "images", "rows", "cols", "patient"} {
			if set[name] {
				return usageError("-%s does not go with -replicate: the copies keep the source's", name)
			}
		}
		if *copies < 1 {
			return usageError("-copies %d: want at least 1", *copies)
		}
	case set["copies"]:
		return usageError("-copies goes with -replicate SRC")
	case *series < 1 || *images < 1 || *rows < 1 || *cols < 1:
		return usageError("-series, -images, -rows and -cols must be at least 1")
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "dicomgen: error: interrupted")
		return 130
	}

	var res *synthetic.Result
	var err error
	if *replicate != "" {
		res, err = synthetic.Replicate(ctx, *replicate, *out, *copies, *seed)
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
	fmt.Fprintf(stdout, "wrote %d files, %s, study %s, seed %d, in %s\n",
		len(res.Files), study.FormatBytes(res.Bytes), res.StudyUID, *seed, *out)
	return 0
}
