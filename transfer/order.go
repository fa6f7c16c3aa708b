package transfer

import (
	"math"
	"sort"
	"strconv"

	"imageshare/study"
)

// Order sorts the chunks in need so that whole series arrive early: the
// report first, then the series named in first (by Series Instance UID or
// series number as text), then the others from the smallest up. A
// clinician can open the scout or the small series while the big one is
// still on its way. A chunk that spans two series goes with the one that
// comes first.
func Order(m *Manifest, need []int, first []string) []int {
	rank := seriesRanks(m, first)
	chunkRank := make(map[int]int, len(need))
	l := newLayout(m)
	for ci := range m.Chunks {
		best := math.MaxInt
		for e := range l.extents(l.chunk(ci)) {
			best = min(best, rank[fileKey(m.Files[e.File])])
		}
		chunkRank[ci] = best
	}
	out := append([]int(nil), need...)
	sort.SliceStable(out, func(a, b int) bool {
		ra, rb := chunkRank[out[a]], chunkRank[out[b]]
		if ra != rb {
			return ra < rb
		}
		return out[a] < out[b]
	})
	return out
}

// fileKey groups files: by series, with reports apart.
func fileKey(f File) string {
	if f.Kind == study.KindReport {
		return "report:" + f.Path
	}
	return f.Series
}

func seriesRanks(m *Manifest, first []string) map[string]int {
	sizes := map[string]int64{}
	for _, f := range m.Files {
		sizes[fileKey(f)] += f.Size
	}
	numbers := map[string]string{}
	for _, s := range m.Studies {
		for _, se := range s.Series {
			numbers[se.UID] = strconv.Itoa(se.Number)
		}
	}
	keys := make([]string, 0, len(sizes))
	for k := range sizes {
		keys = append(keys, k)
	}
	prio := func(k string) int {
		if len(k) > 7 && k[:7] == "report:" {
			return 0
		}
		for _, want := range first {
			if want == k || want == numbers[k] {
				return 1
			}
		}
		return 2
	}
	sort.Slice(keys, func(a, b int) bool {
		pa, pb := prio(keys[a]), prio(keys[b])
		if pa != pb {
			return pa < pb
		}
		if sizes[keys[a]] != sizes[keys[b]] {
			return sizes[keys[a]] < sizes[keys[b]]
		}
		return keys[a] < keys[b]
	})
	rank := make(map[string]int, len(keys))
	for i, k := range keys {
		rank[k] = i
	}
	return rank
}
