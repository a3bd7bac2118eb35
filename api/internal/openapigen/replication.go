package openapigen

import "github.com/shadowvault/shadowvault/apiv1"

// replication is the role of a token another server's sync job reads
// with.
var replication = apiv1.RoleReplication

// replicationOperations are the sync job of a target and the read-only
// routes a source serves it.
func replicationOperations() []op {
	readers := []apiv1.Role{admin, replication}
	busy := fail(503, "The storage backend failed.", apiv1.CodeStorage)
	return []op{
		{
			method: "POST", path: "/api/v1/sync", id: "startSync", tag: "replication", roles: []apiv1.Role{admin},
			summary: "Start a sync job: pull snapshots from another server",
			desc: "Starts a job that copies every snapshot of the source server selected by the globs and the age and not yet held here, " +
				"sending only the chunks this repository lacks, and answers at once with the job's id; follow it at GET /api/v1/jobs/{id} " +
				"(its `sync` figures and log). The source is read through its replication routes with `source_token`, a replication (or admin) token of the source. " +
				"Copies keep the source's snapshot id and receipt. A sync killed or failed resumes when started again. One sync per source URL at a time.",
			body: &reqBody{required: true, content: []content{jsonBody[apiv1.SyncRequest](`{"source":"https://primary:8420","source_token":"svt_...","host":"HV*","max_age":"720h","rate_limit":20971520,"parallel":4,"keep_protected":true}`)}},
			answers: []answer{
				ok[apiv1.SyncStarted](202, "The job runs.", `{"job":"18ed47a1c0e1a3f2"}`),
				fail(400, "A source that is not an http(s) URL, no source token, a bad glob, age, rate or parallel count.", apiv1.CodeBadRequest),
				fail(409, "A sync from the same source URL is running.", apiv1.CodeSyncRunning),
				errJSONBody, errTooLarge,
			},
		},
		{
			method: "GET", path: "/api/v1/replication/info", id: "replicationInfo", tag: "replication", roles: readers,
			summary: "The repository as a sync source",
			desc:    "Its id and how it computes chunk IDs: a target with the same fingerprint shares the IDs and asks its own index for them.",
			answers: []answer{ok[apiv1.ReplicationInfo](200, "The repository.", "")},
		},
		{
			method: "GET", path: "/api/v1/replication/snapshots", id: "replicationSnapshots", tag: "replication", roles: readers,
			summary: "Every snapshot, of every host, with its manifest",
			answers: []answer{ok[apiv1.ReplicationSnapshots](200, "The snapshots, oldest first.", "")},
		},
		{
			method: "GET", path: "/api/v1/replication/snapshots/{id}", id: "replicationSnapshot", tag: "replication", roles: readers,
			summary: "One snapshot with its manifest",
			params:  []*Parameter{snapshotID},
			answers: []answer{
				ok[apiv1.ReplicationSnapshot](200, "The snapshot.", ""),
				fail(404, "No such snapshot.", apiv1.CodeUnknownSnapshot),
			},
		},
		{
			method: "GET", path: "/api/v1/replication/snapshots/{id}/writer-metadata", id: "replicationWriterMetadata", tag: "replication", roles: readers,
			summary: "A snapshot's VSS writer metadata document",
			params:  []*Parameter{snapshotID},
			answers: []answer{
				{status: 200, desc: "The document.", content: []content{{mediaType: "application/octet-stream", schema: binary("")}},
					headers: map[string]*Header{"Content-Length": contentLength}},
				fail(404, "No such snapshot, or it has no document.", apiv1.CodeUnknownSnapshot, apiv1.CodeNotFound),
				fail(500, "The stored document is damaged.", apiv1.CodeCorruptData),
				busy,
			},
		},
		{
			method: "GET", path: "/api/v1/replication/diskmaps/{id}", id: "replicationDiskMap", tag: "replication", roles: readers,
			summary: "A disk map in its logical form",
			desc:    "The disk map (extents and container recipe) decrypted and encoded (SVDM, version 1): its BLAKE3-256 is its id. Only disk maps a listed snapshot names.",
			params:  []*Parameter{pathParam("id", "The disk map's id (64 hex digits), as a manifest names it.")},
			answers: []answer{
				{status: 200, desc: "The encoded disk map.", content: []content{{mediaType: "application/octet-stream", schema: binary("")}},
					headers: map[string]*Header{"Content-Length": contentLength}},
				fail(400, "Not a disk map id.", apiv1.CodeBadRequest),
				fail(404, "No listed snapshot names this disk map.", apiv1.CodeNotFound),
				fail(500, "The stored disk map is damaged.", apiv1.CodeCorruptData),
				busy,
			},
		},
		{
			method: "POST", path: "/api/v1/replication/chunks", id: "replicationChunks", tag: "replication", roles: readers,
			summary: "Chunks by ID, as plaintext",
			desc: "Streams, for each ID asked for (1 to 256), in order: the 32-byte ID, the plaintext's length as a 4-byte big-endian number, the plaintext. " +
				"Every ID is looked up before the answer starts; a read that fails later cuts the stream short.",
			body: &reqBody{required: true, content: []content{jsonBody[apiv1.ChunksRequest](`{"ids":["9f2c...64 hex digits"]}`)}},
			answers: []answer{
				{status: 200, desc: "The chunk stream.", content: []content{{mediaType: "application/octet-stream", schema: binary("")}}},
				fail(400, "No IDs, more than 256, or one that is not 64 hex digits.", apiv1.CodeBadRequest),
				fail(404, "A chunk is not in the repository.", apiv1.CodeNotFound),
				errJSONBody, errTooLarge,
			},
		},
	}
}

// pushOperations are the routes a target serves another server's push
// sync job through.
func pushOperations() []op {
	pushers := []apiv1.Role{admin, apiv1.RolePush}
	importID := pathParam("import", "The import's id, as beginning it answered.")
	noImport := fail(404, "No such import (ended, or idle for more than 10 minutes).", apiv1.CodeNotFound)
	state := func(desc string) answer { return ok[apiv1.PushState](200, desc, `{"state":"ok"}`) }
	return []op{
		{
			method: "POST", path: "/api/v1/replication/push/", id: "pushBegin", tag: "replication", roles: pushers,
			summary: "Begin a pushed import of one snapshot",
			desc:    "The pusher describes its repository (id and ID scheme); the answer names the import and describes this one. At most 16 imports at once.",
			body:    &reqBody{required: true, content: []content{jsonBody[apiv1.PushBegin]("")}},
			answers: []answer{
				ok[apiv1.PushBegun](200, "The import.", ""),
				fail(400, "No source repository id.", apiv1.CodeBadName),
				fail(503, "Too many imports in flight.", apiv1.CodeBusy),
				errJSONBody, errTooLarge,
			},
		},
		{
			method: "POST", path: "/api/v1/replication/push/has", id: "pushHas", tag: "replication", roles: pushers,
			summary: "Whether this repository holds a copy of a source's snapshot",
			body:    &reqBody{required: true, content: []content{jsonBody[apiv1.PushSnapshot]("")}},
			answers: []answer{state("`absent`, `listed` (and whether protected) or `forgotten` (copied, then removed by this repository's retention)."),
				fail(400, "Not a snapshot id.", apiv1.CodeBadRequest), errJSONBody, errTooLarge},
		},
		{
			method: "POST", path: "/api/v1/replication/push/protect", id: "pushProtect", tag: "replication", roles: pushers,
			summary: "Protect the copy of a source's snapshot",
			body:    &reqBody{required: true, content: []content{jsonBody[apiv1.PushSnapshot]("")}},
			answers: []answer{state("Protected."), fail(400, "Not a snapshot id.", apiv1.CodeBadRequest),
				fail(403, "The snapshot is not a copy from that source.", apiv1.CodeForbidden),
				fail(404, "No such snapshot.", apiv1.CodeUnknownSnapshot), errJSONBody, errTooLarge},
		},
		{
			method: "POST", path: "/api/v1/replication/push/{import}/lookup", id: "pushLookup", tag: "replication", roles: pushers,
			summary: "This repository's chunks of source chunk IDs",
			params:  []*Parameter{importID},
			body:    &reqBody{required: true, content: []content{jsonBody[apiv1.PushLookup]("")}},
			answers: []answer{ok[apiv1.PushIDs](200, "One ID per ID asked, empty for unknown.", ""),
				fail(400, "More than 4096 IDs, or one that is not 64 hex digits.", apiv1.CodeBadRequest), noImport, errJSONBody, errTooLarge},
		},
		{
			method: "POST", path: "/api/v1/replication/push/{import}/chunks", id: "pushChunks", tag: "replication", roles: pushers,
			summary: "Store chunks",
			desc:    "A chunk stream as the source's chunk route sends it (at most 256 frames); each chunk is hashed here and stored as this repository's own.",
			params:  []*Parameter{importID},
			body:    &reqBody{required: true, content: []content{{mediaType: "application/octet-stream", schema: binary("The chunk frames.")}}},
			answers: []answer{ok[apiv1.PushIDs](200, "This repository's ID of each chunk, and the bytes stored new.", ""),
				fail(400, "A malformed or cut stream, or a chunk that does not match a source ID this repository can check.", apiv1.CodeBadRequest, apiv1.CodeTruncatedBody, apiv1.CodeCorruptData),
				noImport, fail(503, "The storage backend failed.", apiv1.CodeStorage)},
		},
		{
			method: "POST", path: "/api/v1/replication/push/{import}/settle", id: "pushSettle", tag: "replication", roles: pushers,
			summary: "Make the chunks stored so far durable",
			params:  []*Parameter{importID},
			answers: []answer{state("Durable and indexed."), noImport, fail(503, "The storage backend failed.", apiv1.CodeStorage)},
		},
		{
			method: "PUT", path: "/api/v1/replication/push/{import}/maps/{i}", id: "pushMap", tag: "replication", roles: pushers,
			summary: "A disk map of the snapshot to commit",
			desc:    "Disk `i` (in the manifest's order) in this repository's chunk IDs, encoded (SVDM); at most 2 GiB.",
			params:  []*Parameter{importID, {Name: "i", In: "path", Required: true, Description: "The disk's index in the manifest (0 to 255).", Schema: &Schema{Type: "integer", Minimum: ptr[int64](0)}}},
			body:    &reqBody{required: true, content: []content{{mediaType: "application/octet-stream", schema: binary("The disk map.")}}},
			answers: []answer{state("Kept for the commit."), fail(400, "A bad index or a disk map that does not decode.", apiv1.CodeBadRequest),
				fail(413, "A disk map over 2 GiB.", apiv1.CodeBodyTooLarge), noImport},
		},
		{
			method: "POST", path: "/api/v1/replication/push/{import}/commit", id: "pushCommit", tag: "replication", roles: pushers,
			summary: "Commit the snapshot",
			desc: "Stores the disk maps, the writer metadata document and the manifest (the source's id, session and receipt), then commits the snapshot, " +
				"in the durability order of a backup. A snapshot held or forgotten here answers its state and stores nothing.",
			params: []*Parameter{importID},
			body:   &reqBody{required: true, content: []content{jsonBody[apiv1.PushCommit]("")}},
			answers: []answer{state("`ok`: committed; `listed` or `forgotten`: not stored."),
				fail(400, "No manifest, or disk maps missing.", apiv1.CodeBadRequest),
				fail(500, "A chunk a disk map names is not stored.", apiv1.CodeCorruptData), noImport,
				fail(503, "The storage backend failed.", apiv1.CodeStorage)},
		},
		{
			method: "DELETE", path: "/api/v1/replication/push/{import}/", id: "pushEnd", tag: "replication", roles: pushers,
			summary: "End an import",
			params:  []*Parameter{importID},
			answers: []answer{state("Ended (also when it was not open).")},
		},
	}
}
