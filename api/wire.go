package api

import (
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/guestfs"
	"github.com/shadowvault/shadowvault/repo"
)

// The server keeps its records in the packages that store them (a
// manifest in repo, a partition in guestfs); these functions give them
// as API v1 bodies. The JSON is the same field for field: wire_test.go
// holds them to it.

// wireSlice converts each element of s with f, keeping nil as nil (it
// encodes as null, an empty slice as []).
func wireSlice[S, D any](s []S, f func(S) D) []D {
	if s == nil {
		return nil
	}
	out := make([]D, len(s))
	for i, v := range s {
		out[i] = f(v)
	}
	return out
}

func snapshotToWire(m *repo.Manifest) apiv1.Snapshot {
	out := apiv1.Snapshot{
		Magic: m.Magic, Version: m.Version, ID: m.ID, Session: m.Session, Host: m.Host, VM: m.VM,
		Time: m.Time, BackupType: m.BackupType, Consistency: m.Consistency, Writers: m.Writers,
		Disks: wireSlice(m.Disks, snapshotDiskToWire), Receipt: m.Receipt,
	}
	if doc := m.WriterMetadata; doc != nil {
		out.WriterMetadata = &apiv1.Document{Size: doc.Size, BLAKE3: doc.BLAKE3.String()}
	}
	if rp := m.Replica; rp != nil {
		out.Replica = &apiv1.Replica{Source: rp.Source, Copied: rp.Copied}
	}
	return out
}

func snapshotSummaryToWire(m *repo.Manifest) apiv1.SnapshotSummary {
	out := apiv1.SnapshotSummary{
		ID: m.ID, Host: m.Host, VM: m.VM, Time: m.Time.Format(time.RFC3339),
		BackupType: m.BackupType, Consistency: m.Consistency, LogicalBytes: m.LogicalBytes(),
		Disks: wireSlice(m.Disks, snapshotDiskToWire),
	}
	if t := m.Receipt.ImmutableUntil; !t.IsZero() {
		out.ImmutableUntil = t.Format(time.RFC3339)
	}
	return out
}

func snapshotDiskToWire(d repo.ManifestDisk) apiv1.SnapshotDisk {
	return apiv1.SnapshotDisk{
		Name: d.Name, Format: d.Format, VirtualSize: d.VirtualSize, FileSize: d.FileSize,
		StreamBytes: d.StreamBytes, StreamBLAKE3: d.StreamBLAKE3, NewBytes: d.NewBytes,
		StoredBytes: d.StoredBytes, DiskMap: d.DiskMap.String(),
		Container: d.Container, Parent: d.Parent, Guest: d.Guest, Base: d.Base, ChangedBytes: d.ChangedBytes, RCTID: d.RCTID,
	}
}

func sessionsToWire(list []repo.SessionSummary) []apiv1.SessionStatus {
	return wireSlice(list, func(s repo.SessionSummary) apiv1.SessionStatus {
		return apiv1.SessionStatus{
			ID: s.ID, Created: s.Created, LastActive: s.LastActive,
			Disks: s.Disks, Uploading: s.Uploading, Failed: s.Failed,
			Info: apiv1.SessionInfo{SessionRequest: apiv1.SessionRequest{
				Host: s.Info.Host, VM: s.Info.VM, BackupType: s.Info.BackupType, Consistency: s.Info.Consistency,
				Writers: s.Info.Writers, Disks: s.Info.Disks, Schedule: s.Info.Schedule,
			}, Owner: s.Info.Owner},
		}
	})
}

func partitionsToWire(parts []guestfs.Partition) []apiv1.Partition {
	return wireSlice(parts, func(p guestfs.Partition) apiv1.Partition { return apiv1.Partition(p) })
}

func dirEntriesToWire(entries []guestfs.Entry) []apiv1.DirEntry {
	return wireSlice(entries, func(e guestfs.Entry) apiv1.DirEntry { return apiv1.DirEntry(e) })
}
