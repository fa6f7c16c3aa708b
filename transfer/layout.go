package transfer

import (
	"iter"
	"sort"
)

// layout places a manifest's files end to end in the one stream of bytes
// that is cut into chunks, and answers which parts of which files a range
// of the stream covers. It is the only place that does this arithmetic.
type layout struct {
	m *Manifest
	// offsets[i] is where file i starts in the stream.
	offsets []int64
}

func newLayout(m *Manifest) *layout {
	l := &layout{m: m, offsets: make([]int64, len(m.Files))}
	var off int64
	for i, f := range m.Files {
		l.offsets[i] = off
		off += f.Size
	}
	return l
}

// extent is the part of one file that a range of the stream covers: Len
// bytes at At in the range, which are at Off in file File.
type extent struct {
	File int
	At   int64
	Off  int64
	Len  int64
}

// chunk returns where chunk ci lies in the stream: bytes [start, end).
func (l *layout) chunk(ci int) (start, end int64) {
	start = int64(ci) * l.m.ChunkSize
	return start, start + l.m.Chunks[ci].Size
}

// extents yields, in stream order, the parts of the files that bytes
// [start, end) of the stream cover. Empty files cover nothing and are
// never yielded.
func (l *layout) extents(start, end int64) iter.Seq[extent] {
	return func(yield func(extent) bool) {
		files := l.m.Files
		// The first file that ends after start.
		i := sort.Search(len(files), func(i int) bool { return l.offsets[i]+files[i].Size > start })
		for ; i < len(files) && l.offsets[i] < end; i++ {
			if files[i].Size == 0 {
				continue
			}
			from := max(start, l.offsets[i])
			to := min(end, l.offsets[i]+files[i].Size)
			if !yield(extent{File: i, At: from - start, Off: from - l.offsets[i], Len: to - from}) {
				return
			}
		}
	}
}
