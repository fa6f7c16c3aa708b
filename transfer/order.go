package transfer

import (
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
	var off int64
	fi := 0
	for ci := range m.Chunks {
		start, end := int64(ci)*m.ChunkSize, int64(ci)*m.ChunkSize+m.Chunks[ci].Size
		best := int(^uint(0) >> 1)
		for fi < len(m.Files) && off+m.Files[fi].Size <= start {
			off += m.Files[fi].Size
			fi++
		}
		for j, o := fi, off; j < len(m.Files) && o < end; j++ {
			if m.Files[j].Size > 0 {
				best = min(best, rank[fileKey(m.Files[j])])
			}
			o += m.Files[j].Size
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
