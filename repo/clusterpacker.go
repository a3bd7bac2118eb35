package repo

import (
	"crypto/rand"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/repo/pack"
)

// The packer's part in a cluster.
//
// A pack's name is the BLAKE3 of its bytes, so two nodes (or one node,
// before and after a prune) that pack the same chunks in the same order
// make the same pack. Across nodes that breaks the prune rule: a prune
// could delete, under its old name, a pack another node has just stored
// again. A cluster node therefore starts every pack with a salt: a chunk
// of 32 random bytes that nothing references. Pack names never repeat,
// and a pack a prune deleted never comes back.

// addSaltLocked adds the salt chunk to the open pack; p.mu is held.
func (p *packer) addSaltLocked() {
	if !saltPack(p.codec, p.cur) {
		return // the pack goes unsalted; only its name may repeat
	}
	done := make(chan struct{})
	close(done)
	// curIDs lines up with the pack's entries; nobody waits for this one.
	p.curIDs = append(p.curIDs, &pending{added: done})
}

// saltPack adds a salt chunk to the empty pack w.
func saltPack(codec pack.Codec, w *pack.Writer) bool {
	var data [32]byte
	_, _ = rand.Read(data[:])
	id := codec.IDs.Sum(data[:])
	stored, _, c, err := codec.Encode(nil, nil, id, data[:])
	if err != nil {
		return false
	}
	w.Add(id, stored, len(data), c)
	return true
}

// has reports whether the saver may dedup against chunk id: it is indexed,
// and not in a pack a prune on another node has doomed.
func (p *packer) has(id chunk.ID) (bool, error) {
	doomed := p.doomed.Load()
	if doomed == nil || len(*doomed) == 0 {
		return p.idx.Has(id)
	}
	loc, ok, err := p.idx.Lookup(id)
	if err != nil || !ok {
		return false, err
	}
	return !(*doomed)[loc.Pack], nil
}

// setDoomed replaces the doomed packs.
func (p *packer) setDoomed(packs map[chunk.ID]bool) {
	if len(packs) == 0 {
		if p.doomed.Load() != nil {
			p.doomed.Store(nil)
		}
		return
	}
	p.doomed.Store(&packs)
}
