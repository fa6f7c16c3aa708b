//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"time"

	"imageshare/study"
	"imageshare/synthetic"
)

// benchStudy is the study every run sends.
type benchStudy struct {
	Dir    string   `json:"dir"`
	Files  []string `json:"files"` // relative to Dir, in the order the raw baselines send them
	Bytes  int64    `json:"bytes"`
	Source string   `json:"source"` // what it was made of
	Copies int      `json:"copies,omitempty"`
}

// syntheticImageBytes is about the size of one synthetic 512×512 image.
const syntheticImageBytes = 512*512*2 + 1200

// syntheticSeriesImages is how many images a synthetic series holds at most.
const syntheticSeriesImages = 200

// prepareStudy returns the study of the size asked for, from the work
// folder when an earlier run made it. It is made of copies of c.source, as
// many as reach the size, or synthetic when c.source is absent. It is
// made in a temporary folder and renamed into place, so that an
// interrupted run leaves no half study to be taken for a whole one.
func prepareStudy(ctx context.Context, c *config, logf func(string, ...any)) (*benchStudy, error) {
	kind := "ct"
	if _, err := os.Stat(c.source); err != nil {
		kind = "synthetic"
		logf("%s is absent (%v): the study will be synthetic", c.source, err)
	}
	name := fmt.Sprintf("study-%d-%s", c.size, kind)
	dir := filepath.Join(c.work, name)
	index := dir + ".json"
	if st, err := readStudyIndex(index, dir); err == nil {
		logf("study: %s, %d files (%s), cached in %s", st.Source, len(st.Files), study.FormatBytes(st.Bytes), dir)
		return st, nil
	}

	tmp := dir + ".tmp"
	for _, p := range []string{tmp, dir, index} {
		if err := os.RemoveAll(p); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	type made struct {
		st  *benchStudy
		err error
	}
	done := make(chan made, 1)
	go func() {
		var m made
		if kind == "ct" {
			m.st, m.err = replicateStudy(ctx, c.source, tmp, c.size, logf)
		} else {
			m.st, m.err = syntheticStudy(tmp, c.size, logf)
		}
		done <- m
	}()
	var m made
	select {
	case m = <-done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if m.err != nil {
		os.RemoveAll(tmp)
		return nil, m.err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	m.st.Dir = dir
	b, err := json.MarshalIndent(m.st, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(index, b, 0o644); err != nil {
		return nil, err
	}
	logf("study: %s, %d files (%s), made in %s and cached in %s", m.st.Source, len(m.st.Files),
		study.FormatBytes(m.st.Bytes), time.Since(start).Round(100*time.Millisecond), dir)
	return m.st, nil
}

// readStudyIndex reads the index an earlier run wrote beside the study,
// and checks that the study's files are all there, at their sizes.
func readStudyIndex(index, dir string) (*benchStudy, error) {
	b, err := os.ReadFile(index)
	if err != nil {
		return nil, err
	}
	var st benchStudy
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, err
	}
	st.Dir = dir
	var n int64
	for _, f := range st.Files {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		n += fi.Size()
	}
	if n != st.Bytes || len(st.Files) == 0 {
		return nil, errors.New("the cached study is not whole")
	}
	return &st, nil
}

// replicateStudy copies the series in src into dst as many times as it
// takes to reach size bytes.
func replicateStudy(ctx context.Context, src, dst string, size int64, logf func(string, ...any)) (*benchStudy, error) {
	var srcBytes int64
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			srcBytes += fi.Size()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if srcBytes == 0 {
		return nil, fmt.Errorf("%s holds no files", src)
	}
	copies := max(1, int(math.Ceil(float64(size)/float64(srcBytes))))
	logf("study: copying %s (%s) %d times with fresh UIDs ...", src, study.FormatBytes(srcBytes), copies)
	res, err := synthetic.Replicate(ctx, src, dst, copies, 1)
	if err != nil {
		return nil, err
	}
	st, err := fromResult(res, dst)
	if err != nil {
		return nil, err
	}
	st.Source = fmt.Sprintf("%s × %d", filepath.Base(filepath.Dir(src))+"/"+filepath.Base(src), copies)
	st.Copies = copies
	return st, nil
}

// syntheticStudy writes a synthetic CT study of about size bytes.
func syntheticStudy(dst string, size int64, logf func(string, ...any)) (*benchStudy, error) {
	images := max(1, int(math.Ceil(float64(size)/syntheticImageBytes)))
	series := (images + syntheticSeriesImages - 1) / syntheticSeriesImages
	perSeries := (images + series - 1) / series
	logf("study: writing a synthetic CT study of %d series of %d images ...", series, perSeries)
	res, err := synthetic.Write(synthetic.Options{Dir: dst, Series: series, Images: perSeries, Seed: 1, StudyDescription: "BENCHMARK CT"})
	if err != nil {
		return nil, err
	}
	st, err := fromResult(res, dst)
	if err != nil {
		return nil, err
	}
	st.Source = fmt.Sprintf("synthetic CT, %d series of %d images", series, perSeries)
	return st, nil
}

func fromResult(res *synthetic.Result, dir string) (*benchStudy, error) {
	st := &benchStudy{Bytes: res.Bytes, Files: make([]string, len(res.Files))}
	for i, f := range res.Files {
		rel, err := filepath.Rel(dir, f)
		if err != nil {
			return nil, err
		}
		st.Files[i] = rel
	}
	return st, nil
}

// paths returns the study's files as absolute paths.
func (st *benchStudy) paths() []string {
	ps := make([]string, len(st.Files))
	for i, f := range st.Files {
		ps[i] = filepath.Join(st.Dir, f)
	}
	return ps
}
