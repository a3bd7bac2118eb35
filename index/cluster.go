package index

import (
	bolt "go.etcd.io/bbolt"

	"github.com/shadowvault/shadowvault/chunk"
)

// bucketCluster is a cluster node's bookkeeping (docs/SCALE.md): the name
// of each pack's index object in the backend, by pack ID, and the node's
// listing cursors, by name. Added in schema 1 without a migration: a
// single node never writes it.
var bucketCluster = []byte("cluster")

// Cluster keys: a pack's index object is under "pack/" + the pack ID.
const clusterPackPrefix = "pack/"

// PackObject returns the name of pack id's index object, "" when unknown.
func (x *Index) PackObject(id chunk.ID) (string, error) {
	var name string
	err := x.db.View(func(tx *bolt.Tx) error {
		name = string(tx.Bucket(bucketCluster).Get(append([]byte(clusterPackPrefix), id[:]...)))
		return nil
	})
	return name, err
}

// ImportPacks records durable packs and their chunks (as AddPacks does) and
// the names of their index objects, in one transaction. objects[i] is the
// name for packs[i].
func (x *Index) ImportPacks(packs []NewPack, objects []string) error {
	return x.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCluster)
		for i, p := range packs {
			if err := addPackTx(tx, p.Info.ID, p.Info.Size, p.Entries, p.Info.Created); err != nil {
				return err
			}
			if err := b.Put(append([]byte(clusterPackPrefix), p.Info.ID[:]...), []byte(objects[i])); err != nil {
				return err
			}
		}
		return nil
	})
}

// SetPackObject records the name of pack id's index object.
func (x *Index) SetPackObject(id chunk.ID, name string) error {
	return x.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCluster).Put(append([]byte(clusterPackPrefix), id[:]...), []byte(name))
	})
}

// ClusterValue returns the value of a cluster key (nil when unset).
func (x *Index) ClusterValue(key string) ([]byte, error) {
	var v []byte
	err := x.db.View(func(tx *bolt.Tx) error {
		v = append([]byte(nil), tx.Bucket(bucketCluster).Get([]byte(key))...)
		return nil
	})
	if len(v) == 0 {
		v = nil
	}
	return v, err
}

// SetClusterValue sets a cluster key.
func (x *Index) SetClusterValue(key string, v []byte) error {
	return x.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketCluster).Put([]byte(key), v) })
}

// Relocate indexes each chunk of locs at its location, unless the chunk
// is indexed already or its pack is not: what a node does with the chunks
// of packs another node's prune deleted as duplicates.
func (x *Index) Relocate(locs []Location) (int, error) {
	n := 0
	err := x.db.Update(func(tx *bolt.Tx) error {
		chunks, packs := tx.Bucket(bucketChunks), tx.Bucket(bucketPacks)
		for _, l := range locs {
			if chunks.Get(l.Entry.ID[:]) != nil || packs.Get(l.Pack[:]) == nil {
				continue
			}
			if err := chunks.Put(l.Entry.ID[:], encodeLocation(l.Pack, l.Entry)); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
