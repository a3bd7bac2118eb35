package torture

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"

	"github.com/zeebo/blake3"
)

// change derives a new version of disk d: one segment replaced by new
// bytes, sometimes the disk grown or shrunk by a segment. It returns the
// new disk and the ranges [off, end) that differ from d (growth included).
func (p *pool) change(rng *rand.Rand, d *diskSpec) (*diskSpec, [][2]int) {
	nd := &diskSpec{name: d.name, size: d.size, segs: append([]segment(nil), d.segs...)}
	var ranges [][2]int
	i := rng.IntN(len(nd.segs))
	at := 0
	for _, s := range nd.segs[:i] {
		at += s.n
	}
	kinds := []segKind{segUnique, segRepeat, segZero}
	nd.segs[i] = segment{kind: kinds[rng.IntN(len(kinds))], n: nd.segs[i].n, seed: rng.Uint64(), b: byte(1 + rng.IntN(255))}
	ranges = append(ranges, [2]int{at, at + nd.segs[i].n})
	switch rng.IntN(6) {
	case 0: // grown
		n := (4 + rng.IntN(200)) << 10
		nd.segs = append(nd.segs, segment{kind: segUnique, n: n, seed: rng.Uint64()})
		ranges = append(ranges, [2]int{nd.size, nd.size + n})
		nd.size += n
	case 1: // shrunk by its last segment, if that leaves something
		if last := nd.segs[len(nd.segs)-1]; len(nd.segs) > 1 && i < len(nd.segs)-1 {
			nd.segs = nd.segs[:len(nd.segs)-1]
			nd.size -= last.n
		}
	}
	var kept [][2]int
	for _, r := range ranges {
		if r[1] = min(r[1], nd.size); r[0] < r[1] {
			kept = append(kept, r)
		}
	}
	return nd.sum(p), kept
}

// byteranges encodes the ranges of data as a multipart/byteranges body.
func byteranges(data []byte, ranges [][2]int) ([]byte, string) {
	const boundary = "torture-boundary-7f3a"
	var b strings.Builder
	for _, r := range ranges {
		fmt.Fprintf(&b, "--%s\r\nContent-Range: bytes %d-%d/%d\r\n\r\n", boundary, r[0], r[1]-1, len(data))
		b.Write(data[r[0]:r[1]])
		b.WriteString("\r\n")
	}
	if len(ranges) == 0 {
		return nil, boundary
	}
	b.WriteString("--" + boundary + "--\r\n")
	return []byte(b.String()), boundary
}

// baseFor picks a receipted, listed snapshot of the session's host and VM
// with disk name, and its disk, or nil.
func (e *epoch) baseFor(rng *rand.Rand, s *session, name string) (string, *diskSpec) {
	live := e.w.liveSnapshots(s.host, s.vm)
	if len(live) == 0 {
		return "", nil
	}
	id := live[rng.IntN(len(live))]
	e.w.mu.Lock()
	defer e.w.mu.Unlock()
	if b := e.w.bySnap[id]; b != nil && b.disks[name] != nil {
		return id, b.disks[name]
	}
	return "", nil
}

// uploadIncremental PUTs a disk as changes over base's disk of that name.
// A base that a forget removed meanwhile is refused (404): the disk then
// goes up whole. false ends the session.
func (e *epoch) uploadIncremental(s *session, base string, d *diskSpec, ranges [][2]int) bool {
	body, boundary := byteranges(e.pool.render(d), ranges)
	done := e.track(opUpload)
	r := e.c.do(e.ctx, http.MethodPut, "/api/v1/sessions/"+s.id+"/disks/"+d.name+"?base="+base, body,
		"multipart/byteranges; boundary="+boundary)
	done(r.ok())
	if r.err != nil {
		e.lost("incremental upload of "+d.name, r)
		return false
	}
	if r.status == http.StatusNotFound && (r.code() == "UNKNOWN_SNAPSHOT" || r.code() == "NO_BASE") {
		return e.upload(s, d) // the base was forgotten since it was chosen
	}
	var sum struct {
		VirtualSize  int64  `json:"virtual_size"`
		Base         string `json:"base"`
		ChangedBytes int64  `json:"changed_bytes"`
		StreamBytes  int64  `json:"stream_bytes"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &sum) != nil {
		e.w.problem("kill %d: incremental upload of %s over %s to session %s answered %s", e.n, d.name, base, s.id, r)
		e.abort(s)
		return false
	}
	var changed int64
	for _, rg := range ranges {
		changed += int64(rg[1] - rg[0])
	}
	bsum := blake3.Sum256(body)
	d.sent = &incrementalBody{base: base, bytes: int64(len(body)), blake3: hex.EncodeToString(bsum[:]), changed: changed}
	if sum.VirtualSize != int64(d.size) || sum.Base != base || sum.ChangedBytes != changed || sum.StreamBytes != int64(len(body)) {
		e.w.problem("kill %d: incremental upload of %s: summary %+v, sent %d bytes changing %d over %s to %d bytes",
			e.n, d.name, sum, len(body), changed, base, d.size)
	}
	e.w.mu.Lock()
	s.disks[d.name] = d
	e.w.stats.uploads++
	e.w.stats.incrementals++
	e.w.mu.Unlock()
	return true
}
