package transfer

import (
	"fmt"
	"slices"
	"testing"
)

// TestLayoutExtents checks the one place that maps a range of the stream
// to the files it covers, at each boundary of a file (0, 1, size-1, size,
// size+1) and around empty files, which cover nothing.
func TestLayoutExtents(t *testing.T) {
	// Stream: [empty] a=0..4 [empty] b=4..8 c=8..9 [empty]
	m := &Manifest{ChunkSize: 4, Files: []File{
		{Path: "e0", Size: 0},
		{Path: "a", Size: 4},
		{Path: "e2", Size: 0},
		{Path: "b", Size: 4},
		{Path: "c", Size: 1},
		{Path: "e5", Size: 0},
	}, Chunks: []Chunk{{Size: 4}, {Size: 4}, {Size: 1}}}
	l := newLayout(m)
	x := func(file int, at, off, n int64) extent { return extent{File: file, At: at, Off: off, Len: n} }
	for _, tc := range []struct {
		start, end int64
		want       []extent
	}{
		{0, 0, nil},
		{0, 1, []extent{x(1, 0, 0, 1)}},
		{0, 3, []extent{x(1, 0, 0, 3)}},
		{0, 4, []extent{x(1, 0, 0, 4)}},
		{0, 5, []extent{x(1, 0, 0, 4), x(3, 4, 0, 1)}},
		{1, 4, []extent{x(1, 0, 1, 3)}},
		{3, 4, []extent{x(1, 0, 3, 1)}},
		{3, 5, []extent{x(1, 0, 3, 1), x(3, 1, 0, 1)}},
		{4, 4, nil},
		{4, 5, []extent{x(3, 0, 0, 1)}},
		{4, 8, []extent{x(3, 0, 0, 4)}},
		{7, 9, []extent{x(3, 0, 3, 1), x(4, 1, 0, 1)}},
		{8, 9, []extent{x(4, 0, 0, 1)}},
		{0, 9, []extent{x(1, 0, 0, 4), x(3, 4, 0, 4), x(4, 8, 0, 1)}},
		{9, 9, nil},
		{9, 10, nil},
		{10, 12, nil},
	} {
		t.Run(fmt.Sprintf("%d-%d", tc.start, tc.end), func(t *testing.T) {
			got := slices.Collect(l.extents(tc.start, tc.end))
			if !slices.Equal(got, tc.want) {
				t.Errorf("extents(%d, %d) = %v, want %v", tc.start, tc.end, got, tc.want)
			}
		})
	}

	for ci, want := range [][2]int64{{0, 4}, {4, 8}, {8, 9}} {
		if s, e := l.chunk(ci); s != want[0] || e != want[1] {
			t.Errorf("chunk(%d) = %d..%d, want %d..%d", ci, s, e, want[0], want[1])
		}
	}

	// Only empty files: the stream is empty and nothing covers anything.
	empty := newLayout(&Manifest{ChunkSize: 4, Files: []File{{Size: 0}, {Size: 0}}})
	if got := slices.Collect(empty.extents(0, 1)); got != nil {
		t.Errorf("only empty files: got %v", got)
	}
}

// TestLayoutExtentsCoverChunks: for a range of file sizes about the chunk
// size, the extents of all chunks cover every byte of every file exactly
// once and in order.
func TestLayoutExtentsCoverChunks(t *testing.T) {
	const size = 8
	for _, sizes := range [][]int64{
		{0}, {1}, {size - 1}, {size}, {size + 1},
		{size - 1, 1}, {size, 0, size}, {1, size + 1, size - 1, 0}, {0, 2*size + 1, 0},
	} {
		m := &Manifest{ChunkSize: size}
		var total int64
		for i, n := range sizes {
			m.Files = append(m.Files, File{Path: fmt.Sprint(i), Size: n})
			total += n
		}
		for off := int64(0); off < total; off += size {
			m.Chunks = append(m.Chunks, Chunk{Size: min(size, total-off)})
		}
		l := newLayout(m)
		next := make([]int64, len(sizes))
		for ci := range m.Chunks {
			start, end := l.chunk(ci)
			at := int64(0)
			for e := range l.extents(start, end) {
				if e.At != at || e.Off != next[e.File] || e.Len <= 0 {
					t.Fatalf("sizes %v chunk %d: extent %+v, want at %d off %d", sizes, ci, e, at, next[e.File])
				}
				at += e.Len
				next[e.File] += e.Len
			}
			if at != end-start {
				t.Fatalf("sizes %v chunk %d: extents cover %d of %d bytes", sizes, ci, at, end-start)
			}
		}
		if !slices.Equal(next, sizes) {
			t.Errorf("sizes %v: covered %v", sizes, next)
		}
	}
}
