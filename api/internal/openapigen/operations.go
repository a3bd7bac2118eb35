package openapigen

import (
	"github.com/shadowvault/shadowvault/apiv1"
)

// The operations of API v1, one entry per route of api.Server.Handler.
// To add a route: add its operation here (method, path as chi writes it,
// the roles its allow() lets in, parameters, body types and answers), run
// go generate ./api/, and commit api/openapi.json with it. The tests of
// package api fail while a registered route has no operation here, or an
// operation no route.

var (
	admin   = apiv1.RoleAdmin
	agent   = apiv1.RoleAgent
	restore = apiv1.RoleRestore
	anyRole = []apiv1.Role{admin, restore, agent}
)

// Path parameters.
var (
	sessionID = pathParam("id", "The session's id (32 hex digits), as opening the session answered it.")
	diskName  = pathParam("name", "The disk's name: 1 to 128 bytes of UTF-8 without control characters, "+
		"`/`, `\\` or `:`, not `.` or `..`, not starting with a dot or a space nor ending with a space (e.g. `disk0.vhdx`).")
	snapshotID   = pathParam("id", "The snapshot's id (32 hex digits).")
	partition    = &Parameter{Name: "index", In: "path", Required: true, Description: "The partition's index, as the partition list gives it (MBR primary slots 1-4, logical partitions from 5, GPT entries from 1).", Schema: &Schema{Type: "integer", Minimum: ptr[int64](0)}}
	policyName   = pathParam("name", "The policy's name (the rules of a disk name apply).")
	scheduleName = pathParam("name", "The schedule's name (the rules of a disk name apply).")
	hostName     = pathParam("host", "The host's name (the rules of a disk name apply).")
	tokenID      = pathParam("id", "The token's id (12 hex digits: the part of the secret after `svt_`).")
	linkID       = pathParam("id", "The link's id (`l` and 12 hex digits).")
	errJSONBody  = fail(400, "The body is not the JSON expected (also an unknown property).", apiv1.CodeBadRequest)
	errTooLarge  = fail(413, "The JSON body is over 1 MiB.", apiv1.CodeBodyTooLarge)
)

// guestPath is the path of a file or directory inside a guest volume.
func guestPath(desc string, def any) *Parameter {
	return query("path", desc, &Schema{Type: "string", Default: def})
}

// sessionErrors are the answers of an operation on a session.
func sessionErrors() []answer {
	return []answer{
		fail(403, "The session was opened by another token (only an admin token may act on any session).", apiv1.CodeForbidden),
		fail(404, "No such session.", apiv1.CodeUnknownSession),
		fail(409, "The session is completed or aborted.", apiv1.CodeSessionCompleted, apiv1.CodeSessionAborted),
		fail(410, "The session expired: it was idle longer than its lease.", apiv1.CodeSessionExpired),
		fail(503, "A complete of the session failed: it can only be aborted.", apiv1.CodeSessionFailed),
	}
}

// diskErrors are the answers of an operation on a snapshot's disk.
func diskErrors() []answer {
	return []answer{
		fail(404, "No such snapshot (a token limited to a host sees no other host's), or no such disk in it.", apiv1.CodeUnknownSnapshot, apiv1.CodeUnknownDisk),
		fail(409, "The disk is a differencing disk whose parent is not in the snapshot.", apiv1.CodeParentMissing),
		fail(500, "The repository lacks data the disk needs, or holds it damaged.", apiv1.CodeCorruptData),
		fail(503, "The storage backend failed.", apiv1.CodeStorage),
	}
}

func operations() []op {
	return append([]op{
		{
			method: "GET", path: "/healthz", id: "health", tag: "server",
			summary: "Whether the server is serving",
			answers: []answer{ok[apiv1.Health](200, "The server is serving.", `{"status":"ok"}`)},
		},
		{
			method: "GET", path: "/metrics", id: "metrics", tag: "server", roles: []apiv1.Role{admin},
			summary: "Prometheus metrics",
			desc: "The server's metrics in the Prometheus text format: requests by route and status, request durations, " +
				"bytes streamed and stored, sessions, uploads in flight and refused, repository size, Go runtime and process. " +
				"Admin only, unless the server runs with `serve --public-metrics`: then anyone may read them, without a token. " +
				"The route answers any method.",
			answers: []answer{{status: 200, desc: "The metrics.", content: []content{{mediaType: "text/plain", schema: &Schema{Type: "string"}}}}},
		},
		{
			method: "GET", path: "/api/v1/openapi.json", id: "openAPI", tag: "server",
			summary: "This document",
			desc:    "The OpenAPI document of API v1. It is not secret: no token is needed.",
			answers: []answer{{status: 200, desc: "The OpenAPI 3.1 document.", content: []content{{mediaType: "application/json", schema: &Schema{Type: "object"}}}}},
		},
		{
			method: "GET", path: "/api/v1/receipt-key", id: "receiptKey", tag: "server", roles: anyRole,
			summary: "The server's public receipt key",
			desc:    "The Ed25519 public key that verifies completion receipts, hex encoded. Agents should pin it (`backup --receipt-key`) rather than fetch it.",
			answers: []answer{ok[apiv1.ReceiptKey](200, "The key.", `{"receipt_key":"565e5d7ff810f49170d5d57ef9c51dcebe00e5686f575de0e13b3778a751f20f"}`)},
		},

		// Sessions: the backup loop.
		{
			method: "POST", path: "/api/v1/sessions", id: "openSession", tag: "sessions", roles: []apiv1.Role{admin, agent},
			summary: "Open a backup session",
			desc: "Opens a session for one VM of a host. An empty backup type is `full`; an empty consistency is `crash` " +
				"(only a client that ran the VSS loop says `application`, and only a full application-consistent backup lets the guests truncate their logs). " +
				"With `disks`, complete requires each of them and a disk of another name is refused. " +
				"An agent token may open sessions for its own host only. " +
				"The session expires when idle longer than the server's lease (15 minutes by default).",
			body: &reqBody{required: true, content: []content{jsonBody[apiv1.SessionRequest](
				`{"host":"HV01","vm":"SQL01","backup_type":"full","consistency":"application","writers":[{"name":"SqlServerWriter","id":"a65faa63-5ea8-4ebc-9dbd-a0c4db26912a"}],"disks":["disk0.vhdx"]}`)}},
			answers: []answer{
				ok[apiv1.Session](201, "The session is open.", `{"backup_type":"full","consistency":"application","created":"2026-03-04T05:06:07Z","disks":["disk0.vhdx"],"host":"HV01","id":"18ed478ad4140d0e253c30b9eb11ea7d","vm":"SQL01"}`),
				errJSONBody,
				fail(400, "A host, VM or declared disk name is invalid; the backup type or consistency is unknown; the disk list is empty, longer than 256 or names a disk twice.", apiv1.CodeBadName, apiv1.CodeBadRequest),
				fail(403, "An agent token opening a session for another host.", apiv1.CodeForbidden),
				fail(409, "Another session of this host and VM is in flight (open, completing, or failed and not yet aborted), whoever opened it: "+
					"the error's `session` names it. The slot is free once that session completes, is aborted or expires; "+
					"a session past its lease that the server has not yet swept is expired by this request.", apiv1.CodeSessionConflict),
				errTooLarge,
			},
		},
		{
			method: "GET", path: "/api/v1/sessions", id: "listSessions", tag: "sessions", roles: []apiv1.Role{admin},
			summary: "The sessions in flight",
			answers: []answer{ok[apiv1.SessionList](200, "The sessions in flight, open or failed.", "")},
		},
		{
			method: "PUT", path: "/api/v1/sessions/{id}/disks/{name}", id: "uploadDisk", tag: "sessions", roles: []apiv1.Role{admin, agent},
			summary: "Stream one disk of the session",
			desc: "The body is the disk's VHD, VHDX or raw file exactly as it sits in the host's shadow copy; the format is detected " +
				"(a VHDX or dynamic VHD from its first bytes, a fixed VHD from its footer) unless `format` forces it. " +
				"The server never buffers the body: it is parsed, chunked and stored as it arrives, and the answer gives the BLAKE3 of the bytes received " +
				"(`stream_blake3`), which the agent compares with what it sent. A short body (fewer bytes than its Content-Length) fails the disk; " +
				"bytes past Content-Length are not part of it.\n\n" +
				"With `base` the upload is incremental: the body is `multipart/byteranges` (RFC 9110 section 14.6), each part with " +
				"`Content-Range: bytes FIRST-LAST/SIZE` (SIZE the disk's new virtual size, the same in every part; parts in ascending order, " +
				"not overlapping, each body exactly its range, no transfer encoding). The stored disk is the base snapshot's disk of that name, " +
				"resized to SIZE, with each part written over it: a complete disk (a synthetic full) that forgetting the base never changes. " +
				"An empty body (no Content-Type) keeps the base's content and size.\n\n" +
				"A failed upload is recorded for its disk name: complete answers DISK_FAILED until an upload of that name succeeds. " +
				"A disk uploaded again replaces the earlier one. At most `--max-uploads` (64) uploads run at once server-wide.",
			params: []*Parameter{
				sessionID, diskName,
				query("format", "Forces the container format (case does not matter) instead of detecting it: `raw` (or `img`), `vhd` (or `vpc`), `vhdx`; `auto` or none detects. Not with `base`.",
					&Schema{Type: "string", Enum: []string{"auto", "raw", "img", "vhd", "vpc", "vhdx"}}),
				query("base", "Makes the upload incremental over the disk of this name in the snapshot given: a snapshot id of the session's host, or `latest` (the newest snapshot of the session's host and VM holding a disk of that name).",
					&Schema{Type: "string"}),
				query("rct_id", "The disk's Hyper-V resilient change tracking id when it was read, kept in the manifest for the next incremental: printable ASCII without spaces, 1 to 256 bytes.",
					&Schema{Type: "string", MinLength: ptr(1), MaxLength: ptr(256), Pattern: "^[!-~]+$"}),
			},
			body: &reqBody{required: true, desc: "The disk image, or with `base` its changed ranges.", content: []content{
				{mediaType: "application/octet-stream", schema: binary("The VHD, VHDX or raw disk file.")},
				{mediaType: "multipart/byteranges", schema: binary("The changed ranges of an incremental upload; the Content-Type carries the boundary.")},
			}},
			answers: append([]answer{
				ok[apiv1.DiskSummary](200, "The disk is stored in the session. `has_parent` and `parent_id` tell a differencing disk and the parent it needs (a VHD's unique id, a VHDX's DataWriteGuid) among the session's disks.",
					`{"name":"disk0.vhdx","format":"vhdx","virtual_size":1073741824,"stream_bytes":54525952,"stream_blake3":"af2548281f0b07d1a912504ee769e9326d4a11e0a6dc57fed5214909d8a57127","new_bytes":50331648,"stored_bytes":21402613,"chunks":388}`),
				fail(400, "An invalid disk name or query parameter (a format with `base`, an unknown format, an invalid `rct_id`).", apiv1.CodeBadName, apiv1.CodeBadRequest),
				fail(400, "The session declared its disks and not this one.", apiv1.CodeDiskNotDeclared),
				fail(400, "The image cannot be read: damaged, truncated, with bytes after its end, empty, of another format than `format` says, or using a feature not supported.",
					apiv1.CodeBadDiskImage, apiv1.CodeTruncatedImage, apiv1.CodeTrailingData, apiv1.CodeEmptyDisk, apiv1.CodeFormatMismatch, apiv1.CodeUnsupported),
				fail(400, "The body ended before its Content-Length, or inside a part.", apiv1.CodeTruncatedBody),
				fail(400, "An incremental body that is not valid multipart/byteranges, or whose parts are out of order, overlap, or disagree on the size.", apiv1.CodeBadRanges),
				fail(400, "The guest hints sent for the disk do not fit it.", apiv1.CodeBadHints),
				fail(404, "The base snapshot is not one of the session's host, or holds no disk of that name.", apiv1.CodeUnknownSnapshot, apiv1.CodeNoBase),
				fail(409, "An upload of the same disk is in flight.", apiv1.CodeDiskBusy),
				fail(409, "The base is a differencing disk whose parent is not in its snapshot.", apiv1.CodeParentMissing),
				fail(413, "A container whose metadata follow its payload needed more spool space than the server allows, or metadata over their limit.", apiv1.CodeSpillLimit, apiv1.CodeMetadataLimit),
				{status: 503, desc: "Too many uploads in flight server-wide: retry after the time given.", codes: []apiv1.Code{apiv1.CodeTooManyUploads},
					headers: map[string]*Header{"Retry-After": {Description: "Seconds to wait before retrying.", Schema: &Schema{Type: "integer"}}}},
				fail(500, "Stored data needed by the upload is damaged.", apiv1.CodeCorruptData),
				fail(503, "The storage backend failed.", apiv1.CodeStorage),
			}, sessionErrors()...),
		},
		{
			method: "PUT", path: "/api/v1/sessions/{id}/disks/{name}/hints", id: "putHints", tag: "sessions", roles: []apiv1.Role{admin, agent},
			summary: "Guest filesystem hints for a disk, before its upload",
			desc: "What the agent found in the guest's filesystems: offsets where files begin and end (the chunker cuts there, so the same file in " +
				"different VMs makes the same chunks) and free ranges (free clusters, page and hibernation files), which `exclude_free` stores as zeros. " +
				"Offsets are sector aligned and inside the disk; at most 16M entries, 64 MiB of JSON. The hints apply to the next upload of the disk.",
			params: []*Parameter{sessionID, diskName},
			body: &reqBody{required: true, content: []content{jsonBody[apiv1.HintsRequest](
				`{"boundaries":[0,1048576,2097152],"free":[{"off":2097152,"len":524288}],"exclude_free":true}`)}},
			answers: append([]answer{
				ok[apiv1.HintsResult](200, "What the server kept of the hints, normalized.", `{"boundaries":3,"disk":"disk0.vhdx","free_ranges":1}`),
				fail(400, "An invalid disk name.", apiv1.CodeBadName),
				fail(400, "The hints are not valid JSON, or not sector aligned, or out of order.", apiv1.CodeBadHints),
				fail(409, "An upload of the disk is in flight.", apiv1.CodeDiskBusy),
				fail(413, "Hints over 64 MiB.", apiv1.CodeBodyTooLarge),
			}, sessionErrors()...),
		},
		{
			method: "PUT", path: "/api/v1/sessions/{id}/writer-metadata", id: "putWriterMetadata", tag: "sessions", roles: []apiv1.Role{admin, agent},
			summary: "The VSS writer metadata document of the session",
			desc:    "The body is the VSS writer metadata document (diskshadow's backup .cab), 1 byte to 16 MiB, kept with the snapshot and handed back at a restore. Sent again, it replaces the earlier one.",
			params:  []*Parameter{sessionID},
			body:    &reqBody{required: true, content: []content{{mediaType: "application/octet-stream", schema: binary("The document.")}}},
			answers: append([]answer{
				ok[apiv1.WriterMetadataResult](200, "The document is kept with the session.", `{"session":"18ed478ad4140d0e253c30b9eb11ea7d","writer_metadata_bytes":18432}`),
				fail(400, "An empty document.", apiv1.CodeBadRequest),
				fail(413, "A document over 16 MiB.", apiv1.CodeBodyTooLarge),
			}, sessionErrors()...),
		},
		{
			method: "POST", path: "/api/v1/sessions/{id}/complete", id: "completeSession", tag: "sessions", roles: []apiv1.Role{admin, agent},
			summary: "Make the session durable and get its receipt",
			desc: "Stores everything durably (packs, then index entries, disk maps and the manifest, then the snapshot in the catalogue) and only then " +
				"answers with the signed receipt, which lets the agent tell VSS the backup is complete. Idempotent: a completed session answers the same receipt again. " +
				"The commit goes on if the client leaves. Refusals change no state, in this order: DISK_BUSY, DISK_FAILED, NO_DISKS, DISK_MISSING.",
			params: []*Parameter{sessionID},
			answers: []answer{
				ok[apiv1.Receipt](200, "The snapshot is durable: the receipt, signed with the server's receipt key (Ed25519 over the canonical receipt without its signature).", receiptExample),
				fail(400, "The session holds no disk.", apiv1.CodeNoDisks),
				fail(403, "The session was opened by another token.", apiv1.CodeForbidden),
				fail(404, "No such session.", apiv1.CodeUnknownSession),
				fail(409, "An upload is in flight; an upload failed and was not sent again (the message names each such disk and why); a declared disk is missing; the session was aborted.",
					apiv1.CodeDiskBusy, apiv1.CodeDiskFailed, apiv1.CodeDiskMissing, apiv1.CodeSessionAborted),
				fail(410, "The session expired.", apiv1.CodeSessionExpired),
				fail(500, "Stored data the session references is missing or damaged.", apiv1.CodeCorruptData),
				fail(503, "Storing failed: the session is failed and can only be aborted; or the storage backend failed.", apiv1.CodeSessionFailed, apiv1.CodeStorage),
			},
		},
		{
			method: "POST", path: "/api/v1/sessions/{id}/abort", id: "abortSession", tag: "sessions", roles: []apiv1.Role{admin, agent},
			summary: "Discard the session",
			desc:    "Discards the session and what it uploaded: no snapshot appears, nothing is acknowledged.",
			params:  []*Parameter{sessionID},
			answers: append([]answer{
				ok[apiv1.AbortResult](200, "The session is discarded.", `{"aborted":true,"id":"18ed478ad4140d0e253c30b9eb11ea7d"}`),
				fail(409, "An upload or a complete of the session is in flight.", apiv1.CodeDiskBusy),
			}, sessionErrors()...),
		},

		// Snapshots.
		{
			method: "GET", path: "/api/v1/snapshots", id: "listSnapshots", tag: "snapshots", roles: anyRole,
			summary: "List snapshots",
			desc:    "The snapshots, oldest first. A token limited to a host (an agent, or a restore token of one host) sees that host's only.",
			params: []*Parameter{
				query("host", "Only this host's snapshots.", &Schema{Type: "string"}),
				query("vm", "Only this VM's snapshots.", &Schema{Type: "string"}),
			},
			answers: []answer{
				ok[apiv1.SnapshotList](200, "The snapshots.", ""),
				fail(403, "A token limited to a host asked for another host.", apiv1.CodeForbidden),
			},
		},
		{
			method: "GET", path: "/api/v1/snapshots/{id}", id: "getSnapshot", tag: "snapshots", roles: anyRole,
			summary: "A snapshot's manifest",
			params:  []*Parameter{snapshotID},
			answers: []answer{
				ok[apiv1.Snapshot](200, "The manifest, with the receipt it was committed with.", ""),
				fail(404, "No such snapshot (a token limited to a host sees no other host's).", apiv1.CodeUnknownSnapshot),
			},
		},
		{
			method: "DELETE", path: "/api/v1/snapshots/{id}", id: "forgetSnapshot", tag: "snapshots", roles: []apiv1.Role{admin},
			summary: "Forget one snapshot",
			desc:    "Removes the snapshot from the catalogue and its manifest from the backend; its data goes at the next prune. Refused while the snapshot is protected.",
			params:  []*Parameter{snapshotID},
			answers: []answer{
				ok[apiv1.SnapshotForgotten](200, "The snapshot is forgotten.", `{"forgotten":true,"snapshot":"18ed478adc15e3fb6b3b7a5dfd98c131"}`),
				fail(404, "No such snapshot.", apiv1.CodeUnknownSnapshot),
				fail(409, "The snapshot is protected.", apiv1.CodeProtected),
				fail(503, "The storage backend failed.", apiv1.CodeStorage),
			},
		},
		{
			method: "PUT", path: "/api/v1/snapshots/{id}/protected", id: "setProtected", tag: "snapshots", roles: []apiv1.Role{admin},
			summary: "Protect a snapshot from forget, or release it",
			params:  []*Parameter{snapshotID},
			body:    &reqBody{required: true, desc: "`true` or `false`.", content: []content{{mediaType: "application/json", schema: &Schema{Type: "boolean"}, example: "true"}}},
			answers: []answer{
				ok[apiv1.SnapshotProtected](200, "The snapshot's protection as set.", `{"protected":true,"snapshot":"18ed478adc15e3fb6b3b7a5dfd98c131"}`),
				fail(400, "The body is not `true` or `false`.", apiv1.CodeBadRequest),
				fail(404, "No such snapshot.", apiv1.CodeUnknownSnapshot),
				fail(503, "The storage backend failed.", apiv1.CodeStorage),
			},
		},
		{
			method: "GET", path: "/api/v1/snapshots/{id}/writer-metadata", id: "getWriterMetadata", tag: "snapshots", roles: []apiv1.Role{admin, restore},
			summary: "A snapshot's VSS writer metadata document",
			params:  []*Parameter{snapshotID},
			answers: []answer{
				{status: 200, desc: "The document as the agent sent it.", content: []content{{mediaType: "application/octet-stream", schema: binary("")}},
					headers: map[string]*Header{"Content-Length": contentLength}},
				fail(404, "No such snapshot, or it has no writer metadata document.", apiv1.CodeUnknownSnapshot, apiv1.CodeNotFound),
				fail(500, "The stored document is damaged.", apiv1.CodeCorruptData),
				fail(503, "The storage backend failed.", apiv1.CodeStorage),
			},
		},
		restoreOp("GET"),
		restoreOp("HEAD"),
		{
			method: "GET", path: "/api/v1/snapshots/{id}/disks/{name}/digests", id: "getDigests", tag: "restore", roles: anyRole,
			summary: "Block digests of a snapshot disk",
			desc: "BLAKE3-256 digests (32 bytes each, concatenated) of the blocks of the disk's virtual content, for an incremental agent without a change tracker: " +
				"it compares them with its disk's and sends the blocks that differ. Without parameters: one digest per 1 MiB block (the last block may be shorter), " +
				"computed after the backup or at the first request and kept. With `block`, `from` and `count`: the digests of `count` blocks of `block` bytes " +
				"from block `from` on, computed from the content and not kept (at most 16384 blocks and 256 MiB of content), to narrow a differing 1 MiB block down.",
			params: []*Parameter{
				snapshotID, diskName,
				query("block", "The block size: a power of two from 4096 to 1048576. Needs `from` and `count`.", &Schema{Type: "integer", Minimum: ptr[int64](4096), Maximum: ptr[int64](1 << 20)}),
				query("from", "The first block, counted in blocks of `block` bytes; inside the disk.", &Schema{Type: "integer", Minimum: ptr[int64](0)}),
				query("count", "How many blocks (at most 256 MiB of content).", &Schema{Type: "integer", Minimum: ptr[int64](1), Maximum: ptr[int64](16384)}),
			},
			answers: append([]answer{
				{status: 200, desc: "The digests.", content: []content{{mediaType: "application/octet-stream", schema: binary("32 bytes per block.")}},
					headers: map[string]*Header{
						apiv1.BlockSizeHeader: {Description: "The block size the digests are of.", Schema: &Schema{Type: "integer"}},
						"Content-Length":      contentLength,
					}},
				fail(400, "`block`, `from` or `count` out of range, or past the disk's end.", apiv1.CodeBadRequest),
				fail(409, "The disk is too large for stored digests (over 4 TiB): use ranges of smaller blocks, or send it whole.", apiv1.CodeNoDigests),
			}, diskErrors()...),
		},
		{
			method: "GET", path: "/api/v1/snapshots/{id}/disks/{name}/fs/", id: "listPartitions", tag: "files", roles: []apiv1.Role{admin, restore},
			summary: "The partitions of a snapshot disk",
			desc:    "The partitions found on the disk (MBR or GPT) and the filesystem in each. `/fs` without the slash answers the same.",
			params:  []*Parameter{snapshotID, diskName},
			answers: append([]answer{
				ok[[]apiv1.Partition](200, "The partitions (an empty list when the disk has no partition table).",
					`[{"index":1,"type":"ntfs","offset":1048576,"size":14680064}]`),
				fail(422, "The partition table is damaged.", apiv1.CodeCorruptFS),
			}, diskErrors()...),
		},
		{
			method: "GET", path: "/api/v1/snapshots/{id}/disks/{name}/fs/{index}/ls", id: "listDirectory", tag: "files", roles: []apiv1.Role{admin, restore},
			summary: "List a directory inside a snapshot disk",
			desc:    "Lists a directory of the NTFS volume in the partition.",
			params:  []*Parameter{snapshotID, diskName, partition, guestPath("The directory, `/` separated.", "/")},
			answers: append([]answer{
				ok[apiv1.DirListing](200, "The directory's entries.", `{"entries":[{"name":"a.txt","size":6,"dir":false,"mtime":"2026-03-04T05:06:07Z"}],"path":"/"}`),
				fail(400, "The index is not a number, or the path is not a directory.", apiv1.CodeBadRequest),
				fail(404, "No such partition, or no such path.", apiv1.CodeNotFound),
				fail(422, "The partition holds no filesystem that can be browsed (only NTFS can), or a damaged one.", apiv1.CodeUnsupportedFS, apiv1.CodeCorruptFS),
			}, diskErrors()...),
		},
		{
			method: "GET", path: "/api/v1/snapshots/{id}/disks/{name}/fs/{index}/cat", id: "downloadFile", tag: "files", roles: []apiv1.Role{admin, restore},
			summary: "Download a file from inside a snapshot disk",
			params:  []*Parameter{snapshotID, diskName, partition, guestPath("The file, `/` separated.", nil)},
			answers: append([]answer{
				{status: 200, desc: "The file's bytes, streamed.", content: []content{{mediaType: "application/octet-stream", schema: binary("")}},
					headers: map[string]*Header{"Content-Length": contentLength, "Content-Disposition": {Description: "`attachment; filename=\"...\"`: the file's name.", Schema: &Schema{Type: "string"}}}},
				fail(400, "The index is not a number, or the path is a directory.", apiv1.CodeBadRequest),
				fail(404, "No such partition, or no such file.", apiv1.CodeNotFound),
				fail(422, "The partition holds no filesystem that can be browsed (only NTFS can), or a damaged one.", apiv1.CodeUnsupportedFS, apiv1.CodeCorruptFS),
			}, diskErrors()...),
		},

		// Schedules, plans and inventories.
		{
			method: "GET", path: "/api/v1/schedules", id: "listSchedules", tag: "schedules", roles: []apiv1.Role{admin},
			summary: "The stored backup schedules",
			answers: []answer{ok[apiv1.ScheduleList](200, "The schedules, sorted by name.", `{"schedules":[{"name":"nightly","hosts":"HV*","vms":"SQL*","window":{"days":["mon","tue"],"start":"22:00","end":"04:00","time_zone":"Europe/Berlin"},"backup_type":"full","incremental":true,"policy":"sql","enabled":true}]}`)},
		},
		{
			method: "GET", path: "/api/v1/schedules/status", id: "scheduleStatus", tag: "schedules", roles: []apiv1.Role{admin, restore},
			summary: "Where each scheduled VM stands",
			desc: "One row per enabled schedule and VM it selects (VMs known from the inventories and the catalogue), missed first. `missed` is true when the last window that should hold a backup ended with no successful backup of the VM in it or since. " +
				"A restore token of one host sees that host's rows.",
			answers: []answer{ok[apiv1.ScheduleStatusList](200, "The rows.", `{"vms":[{"schedule":"nightly","host":"HV01","vm":"SQL02","last_success":"2026-06-08T21:10:00Z","window_start":"2026-06-09T20:00:00Z","next_due":"2026-06-10T20:00:00Z","missed":true}]}`)},
		},
		{
			method: "PUT", path: "/api/v1/schedules/{name}", id: "putSchedule", tag: "schedules", roles: []apiv1.Role{admin},
			summary: "Store a backup schedule",
			desc: "Stores (or replaces) a schedule: hosts and VMs by glob, and exactly one of a daily or weekly `window` in an IANA time zone or an `interval`. " +
				"A window whose end is not after its start ends on the next day. Absent, `backup_type` is full and `enabled` true.",
			params: []*Parameter{scheduleName},
			body:   &reqBody{required: true, content: []content{jsonBody[apiv1.ScheduleSpec](`{"hosts":"HV*","vms":"SQL*","window":{"days":["mon","tue"],"start":"22:00","end":"04:00","time_zone":"Europe/Berlin"},"backup_type":"full","incremental":true,"enabled":true}`)}},
			answers: []answer{
				ok[apiv1.Schedule](200, "The schedule as stored.", `{"name":"six-hourly","hosts":"*","vms":"*","interval":"6h","backup_type":"copy","incremental":false,"enabled":true}`),
				fail(400, "An invalid name; a glob, time, day, time zone, interval or backup type that does not parse, both or neither of window and interval; a policy that is not stored.", apiv1.CodeBadName, apiv1.CodeBadSchedule, apiv1.CodeUnknownPolicy, apiv1.CodeBadRequest),
				errTooLarge,
			},
		},
		{
			method: "GET", path: "/api/v1/schedules/{name}", id: "getSchedule", tag: "schedules", roles: []apiv1.Role{admin},
			summary: "A backup schedule",
			params:  []*Parameter{scheduleName},
			answers: []answer{
				ok[apiv1.Schedule](200, "The schedule.", `{"name":"six-hourly","hosts":"*","vms":"*","interval":"6h","backup_type":"copy","incremental":false,"enabled":true}`),
				fail(404, "No such schedule.", apiv1.CodeNotFound),
			},
		},
		{
			method: "DELETE", path: "/api/v1/schedules/{name}", id: "deleteSchedule", tag: "schedules", roles: []apiv1.Role{admin},
			summary: "Delete a backup schedule",
			params:  []*Parameter{scheduleName},
			answers: []answer{
				ok[apiv1.ScheduleDeleted](200, "The schedule is deleted.", `{"deleted":true,"name":"nightly"}`),
				fail(404, "No such schedule.", apiv1.CodeNotFound),
			},
		},
		{
			method: "GET", path: "/api/v1/plan", id: "getPlan", tag: "schedules", roles: []apiv1.Role{admin, agent},
			summary: "The backups due on a host now",
			desc: "What the host's agent should back up now: each VM of the host's inventory that an enabled schedule makes due (one item a VM, the first schedule by name), with the disks of the inventory, and when to ask again. " +
				"An agent token may ask for its own host only.",
			params: []*Parameter{{Name: "host", In: "query", Required: true, Description: "The host.", Schema: &Schema{Type: "string"}}},
			answers: []answer{
				ok[apiv1.Plan](200, "The plan.", `{"host":"HV01","now":"2026-06-10T20:05:00Z","due":[{"schedule":"nightly","vm":"SQL02","disks":["D:\\VMs\\SQL02\\disk0.vhdx"],"backup_type":"full","incremental":true,"not_after":"2026-06-11T02:00:00Z"}],"next_poll_seconds":300}`),
				fail(400, "No host, or an invalid host name.", apiv1.CodeBadName),
				fail(403, "An agent token asked for another host.", apiv1.CodeForbidden),
			},
		},
		{
			method: "PUT", path: "/api/v1/hosts/{host}/inventory", id: "putInventory", tag: "schedules", roles: []apiv1.Role{admin, agent},
			summary: "Report a host's VMs",
			desc: "Replaces the host's inventory: its VMs and their virtual disk files, as its agent found them. At most 1024 VMs, 64 disks a VM and 512 bytes a path. " +
				"An agent token may report its own host only.",
			params: []*Parameter{hostName},
			body:   &reqBody{required: true, content: []content{jsonBody[apiv1.InventoryReport](`{"vms":[{"name":"SQL02","id":"5c3e0d7a-2a7b-4c39-9d0e-6f1f0a6f3b21","state":"running","disks":[{"path":"D:\\VMs\\SQL02\\disk0.vhdx"}]}]}`)}},
			answers: []answer{
				ok[apiv1.HostInventory](200, "The inventory as stored.", `{"host":"HV01","reported_at":"2026-06-10T20:05:00Z","vms":[{"name":"SQL02","id":"5c3e0d7a-2a7b-4c39-9d0e-6f1f0a6f3b21","state":"running","disks":[{"path":"D:\\VMs\\SQL02\\disk0.vhdx"}]}]}`),
				fail(400, "An invalid host or VM name, a VM listed twice, a disk without a path, or more VMs, disks or bytes than the limits.", apiv1.CodeBadName, apiv1.CodeBadRequest, apiv1.CodeInventoryLimit),
				fail(403, "An agent token reported another host.", apiv1.CodeForbidden),
				errTooLarge,
			},
		},
		{
			method: "GET", path: "/api/v1/inventory", id: "listInventory", tag: "schedules", roles: []apiv1.Role{admin, restore},
			summary: "Every host's inventory",
			desc:    "The last inventory each host reported, sorted by host. A restore token of one host sees that host's only.",
			answers: []answer{ok[apiv1.InventoryList](200, "The inventories.", `{"hosts":[{"host":"HV01","reported_at":"2026-06-10T20:05:00Z","vms":[{"name":"SQL02","id":"","state":"running","disks":[{"path":"D:\\VMs\\SQL02\\disk0.vhdx"}]}]}]}`)},
		},

		// Retention.
		{
			method: "GET", path: "/api/v1/policies", id: "listPolicies", tag: "retention", roles: []apiv1.Role{admin},
			summary: "The stored retention policies",
			answers: []answer{ok[apiv1.PolicyList](200, "The policies by name.", `{"policies":{"daily":{"match":{"host":"HV*"},"keep_daily":7,"keep_within":"720h"}}}`)},
		},
		{
			method: "PUT", path: "/api/v1/policies/{name}", id: "putPolicy", tag: "retention", roles: []apiv1.Role{admin},
			summary: "Store a retention policy",
			desc:    "Stores (or replaces) a policy that forget applies to the snapshots whose host and VM its globs match.",
			params:  []*Parameter{policyName},
			body:    &reqBody{required: true, content: []content{jsonBody[apiv1.Policy](`{"match":{"host":"*","vm":"SQL*"},"keep_last":3,"keep_daily":7,"keep_weekly":4,"keep_within":"720h"}`)}},
			answers: []answer{
				ok[apiv1.NamedPolicy](200, "The policy as stored.", `{"name":"sql","policy":{"match":{"host":"*","vm":"SQL*"},"keep_last":3,"keep_daily":7,"keep_weekly":4,"keep_within":"720h"}}`),
				fail(400, "An invalid name, or an invalid policy (a glob or duration that does not parse).", apiv1.CodeBadName, apiv1.CodeBadRequest),
				errJSONBody, errTooLarge,
			},
		},
		{
			method: "GET", path: "/api/v1/policies/{name}", id: "getPolicy", tag: "retention", roles: []apiv1.Role{admin},
			summary: "A retention policy",
			params:  []*Parameter{policyName},
			answers: []answer{
				ok[apiv1.Policy](200, "The policy.", `{"match":{"host":"HV*"},"keep_last":1,"keep_within":"720h"}`),
				fail(404, "No such policy.", apiv1.CodeNotFound),
			},
		},
		{
			method: "DELETE", path: "/api/v1/policies/{name}", id: "deletePolicy", tag: "retention", roles: []apiv1.Role{admin},
			summary: "Delete a retention policy",
			params:  []*Parameter{policyName},
			answers: []answer{
				ok[apiv1.PolicyDeleted](200, "The policy is deleted.", `{"deleted":true,"name":"sql"}`),
				fail(404, "No such policy.", apiv1.CodeNotFound),
			},
		},
		{
			method: "POST", path: "/api/v1/forget", id: "forget", tag: "retention", roles: []apiv1.Role{admin},
			summary: "Apply retention",
			desc: "Applies a policy, or without one the stored policies, to the snapshots of each host and VM selected (`host` and `vm` empty: all), " +
				"and forgets the snapshots no rule keeps; protected snapshots are kept. Rules follow restic's forget: calendar periods in UTC, " +
				"periods without snapshots skipped, a negative count unlimited, `keep_within` relative to the newest snapshot. " +
				"A dry run only says what would be kept and removed. The data goes at the next prune.",
			body: &reqBody{required: true, content: []content{jsonBody[apiv1.ForgetRequest](`{"host":"HV01","vm":"","policy":{"keep_last":1},"dry_run":true}`)}},
			answers: []answer{
				ok[apiv1.ForgetResult](200, "Every snapshot considered, kept (with the rules that kept it) or removed.",
					`{"keep":[{"snapshot":"18ed478cb53cc293327177d932540797","host":"HV01","vm":"FS02","time":"2026-03-04T05:08:07Z","reasons":["last snapshot"]}],"remove":[{"snapshot":"18ed478adc15e3fb6b3b7a5dfd98c131","host":"HV01","vm":"FS02","time":"2026-03-04T05:07:07Z"}],"dry_run":true}`),
				errJSONBody, errTooLarge,
				fail(503, "The storage backend failed.", apiv1.CodeStorage),
			},
		},
		{
			method: "POST", path: "/api/v1/prune", id: "prune", tag: "maintenance", roles: []apiv1.Role{admin},
			summary: "Delete data no snapshot references",
			desc: "Deletes packs with no live chunk and rewrites packs whose live share is under `repack_below`, never touching packs younger than the grace window; " +
				"safe to run during backups. The body is optional (none: the defaults). The prune goes on if the client leaves.",
			body: &reqBody{content: []content{jsonBody[apiv1.PruneRequest](`{"repack_below":0.7,"grace":"1h"}`)}},
			answers: []answer{
				ok[apiv1.PruneResult](200, "What the prune did.", `{"packs_deleted":2,"packs_rewritten":1,"packs_written":1,"orphans_deleted":0,"disk_maps_deleted":3,"chunks_removed":410,"live_chunks":17,"bytes_freed":52428800,"seconds":1.5}`),
				fail(400, "`repack_below` outside 0 to 1, or a `grace` that is not a duration.", apiv1.CodeBadRequest),
				errJSONBody, errTooLarge,
				fail(409, "A cluster node: another node holds the maintenance lease (a prune or repair runs there).", apiv1.CodeMaintenanceElsewhere),
				fail(503, "The storage backend failed.", apiv1.CodeStorage),
			},
		},
		{
			method: "POST", path: "/api/v1/check", id: "check", tag: "maintenance", roles: []apiv1.Role{admin},
			summary: "Check the repository",
			desc: "Checks that every snapshot disk can be restored: the catalogue against the manifests, the disk maps, and that every chunk is indexed in a pack; " +
				"with `read_data_percent`, that share of the packs (chosen at random) is read and every chunk re-hashed. The body is optional. " +
				"The answer is 200 whether or not damage was found: `ok` tells which.",
			body: &reqBody{content: []content{jsonBody[apiv1.CheckRequest](`{"read_data_percent":10}`)}},
			answers: []answer{
				ok[apiv1.CheckResponse](200, "What the check found.", `{"ok":true,"damaged":[],"problems":[],"unlisted_manifests":[],"missing_manifests":[],"snapshots":2,"disks":3,"chunks":17,"packs":2,"packs_read":1,"read_data_percent":10,"data_read":true}`),
				fail(400, "`read_data_percent` outside 0 to 100.", apiv1.CodeBadRequest),
				errJSONBody, errTooLarge,
				fail(503, "The storage backend failed.", apiv1.CodeStorage),
			},
		},
		{
			method: "POST", path: "/api/v1/repair/versions", id: "repairVersions", tag: "maintenance", roles: []apiv1.Role{admin},
			summary: "Give the objects the catalogue needs their locked versions back (S3 Object Lock)",
			desc: "For each pack the index lists and each listed snapshot's manifest, disk maps and writer metadata, and the config, makes the first stored version " +
				"current again where someone with the bucket's credentials hid it behind a delete marker or wrote a new version over it. " +
				"Key slots come back only when none is left in sight. Pruned packs and forgotten manifests stay removed. Run a check afterwards.",
			answers: []answer{
				ok[apiv1.RevertResult](200, "How many objects of each type were reverted.", `{"reverted":{"config":0,"snapshots":2,"diskmaps":2,"metadata":0,"packs":5},"seconds":0.3}`),
				fail(409, "The repository's storage does not lock objects.", apiv1.CodeNotLocked),
				fail(503, "The storage backend failed.", apiv1.CodeStorage),
			},
		},
		{
			method: "POST", path: "/api/v1/repair/index", id: "repairIndex", tag: "maintenance", roles: []apiv1.Role{admin},
			summary: "Rebuild the index and catalogue from the backend",
			desc: "Reads every pack trailer and manifest, then swaps the index in one transaction: a kill at any moment leaves the old index or the new one. " +
				"A listed snapshot whose manifest the backend lost is stored again from its record. Refused while sessions are open or a prune or check runs. " +
				"The rebuild goes on if the client leaves.",
			answers: []answer{
				ok[apiv1.RepairResult](200, "What the rebuilt index holds.", `{"packs":2,"chunks":17,"pack_bytes":3044170,"snapshots":2,"protected":0,"tokens_restored":0,"policies_restored":0,"jobs_restored":0,"skipped":[],"seconds":0.4}`),
				fail(409, "Backups or maintenance are in flight: retry when they are done (MAINTENANCE_ELSEWHERE: on another node of the cluster).", apiv1.CodeBusy, apiv1.CodeMaintenanceElsewhere),
				fail(500, "The backend holds damaged data the rebuild cannot do without.", apiv1.CodeCorruptData),
				fail(503, "The storage backend failed.", apiv1.CodeStorage),
			},
		},
		{
			method: "GET", path: "/api/v1/jobs", id: "listJobs", tag: "jobs", roles: []apiv1.Role{admin, restore},
			summary: "The job history and the maintenance jobs",
			desc: "Every backup (one session, from its opening to its end), prune, check, repair and forget, newest first, " +
				"with the maintenance jobs' status (prune and check: interval and last run) under `maintenance`. " +
				"A restore token of one host sees that host's jobs only, and no maintenance. Finished jobs are kept for " +
				"the server's `--job-history` (30 days by default).",
			params: []*Parameter{
				query("kind", "Only jobs of this kind.", &Schema{Type: "string", Enum: []string{"backup", "prune", "check", "repair", "forget"}}),
				query("host", "Only jobs of this host: a name or a glob (`HV*`).", &Schema{Type: "string"}),
				query("vm", "Only jobs of this VM: a name or a glob (`SQL*`).", &Schema{Type: "string"}),
				query("result", "Only jobs with this result.", &Schema{Type: "string", Enum: []string{"running", "success", "failed", "aborted"}}),
				query("since", "Only jobs started at or after this time (RFC 3339).", &Schema{Type: "string", Format: "date-time"}),
				query("until", "Only jobs started before this time (RFC 3339).", &Schema{Type: "string", Format: "date-time"}),
				query("limit", "At most this many jobs (default 100).", &Schema{Type: "integer", Minimum: ptr[int64](1), Maximum: ptr[int64](1000), Default: 100}),
			},
			answers: []answer{
				ok[apiv1.JobList](200, "The jobs.", `{"jobs":[{"id":"18ed478ad4140d0e253c30b9eb11ea7e","kind":"backup","trigger":"schedule","schedule":"nightly","host":"HV01","vm":"SQL01","session_id":"18ed478ad4140d0e253c30b9eb11ea7d","snapshot_id":"18ed478b0a2c1d3e4f5a6b7c8d9e0f1a","start":"2026-03-04T05:06:07Z","end":"2026-03-04T05:09:07Z","result":"success","bytes":4194304,"new_bytes":1048576}],"maintenance":[]}`),
				fail(400, "A filter's value is not one this route takes (an unknown kind or result, a bad glob or time, a limit outside 1-1000, until not after since, an unknown parameter).", apiv1.CodeBadRequest),
			},
		},
		{
			method: "GET", path: "/api/v1/jobs/{id}", id: "getJob", tag: "jobs", roles: []apiv1.Role{admin, restore},
			summary: "One job and its log",
			desc: "The job, as it is now while it runs (with its progress), and its log: the server's log lines made for it, " +
				"at most about 200 (the first 100 and the latest; a line in the middle says how many were left out), each at most 512 bytes.",
			params: []*Parameter{pathParam("id", "The job's id.")},
			answers: []answer{
				ok[apiv1.JobDetail](200, "The job.", ""),
				fail(404, "No such job (or one of another host, for a restore token of a host).", apiv1.CodeJobNotFound),
			},
		},
		{
			method: "GET", path: "/api/v1/stats", id: "stats", tag: "maintenance", roles: []apiv1.Role{admin},
			summary: "Repository figures",
			desc:    "Real storage figures, across hosts: the bytes the snapshots hold, the bytes stored, and their ratio.",
			answers: []answer{ok[apiv1.Stats](200, "The figures.", `{"chunks":17,"dedup_ratio":2.07,"logical_bytes":6291456,"packs":2,"sessions_open":0,"snapshots":2,"stored_bytes":3044170,"stream_bytes":6291456}`)},
		},

		// Tokens.
		{
			method: "POST", path: "/api/v1/tokens", id: "createToken", tag: "tokens", roles: []apiv1.Role{admin},
			summary: "Create a token",
			desc:    "An agent token needs a host and may back up that host only; a restore token may have a host (then it sees that host's snapshots only); an admin token has none.",
			body:    &reqBody{required: true, content: []content{jsonBody[apiv1.TokenRequest](`{"role":"agent","host":"HV01"}`)}},
			answers: []answer{
				ok[apiv1.TokenCreated](201, "The token. Its secret is shown this once; the server keeps only its SHA-256.",
					`{"host":"HV01","id":"3f2a9c0d41be","receipt_key":"565e5d7ff810f49170d5d57ef9c51dcebe00e5686f575de0e13b3778a751f20f","role":"agent","token":"svt_3f2a9c0d41be_0c1d2e3f405162738495a6b7c8d9eaf00112233445566778"}`),
				fail(400, "An unknown role, a host for an admin token, or no valid host for an agent token.", apiv1.CodeBadRequest, apiv1.CodeBadName),
				errJSONBody, errTooLarge,
			},
		},
		{
			method: "GET", path: "/api/v1/tokens", id: "listTokens", tag: "tokens", roles: []apiv1.Role{admin},
			summary: "List tokens",
			answers: []answer{ok[apiv1.TokenList](200, "Every token, without its secret.", `{"tokens":[{"id":"3f2a9c0d41be","role":"agent","host":"HV01","created":"2026-03-04T05:06:07Z"}]}`)},
		},
		{
			method: "DELETE", path: "/api/v1/tokens/{id}", id: "revokeToken", tag: "tokens", roles: []apiv1.Role{admin},
			summary: "Revoke a token",
			desc:    "The last admin token cannot be revoked: create another first (or, with the server stopped, `shadowvault token create --offline`).",
			params:  []*Parameter{tokenID},
			answers: []answer{
				ok[apiv1.TokenRevoked](200, "The token is revoked.", `{"id":"3f2a9c0d41be","revoked":true}`),
				fail(404, "No such token.", apiv1.CodeNotFound),
				fail(409, "The token is the last admin token.", apiv1.CodeLastAdmin),
			},
		},

		// Signed links.
		{
			method: "POST", path: "/api/v1/snapshots/{id}/disks/{name}/links", id: "createLink", tag: "restore", roles: []apiv1.Role{admin, restore},
			summary: "Make a signed, read-only URL of a snapshot disk",
			desc: "For HTTP clients that cannot send a bearer token (qemu's curl driver, a browser): the answer's `path` is the restore route of this disk " +
				"and format with the link's secret in the `sig` query parameter. It is valid for GET and HEAD of exactly that disk and format, until " +
				"`expires`, until it is revoked, or until the token that made it is revoked. An empty body asks for `raw` and one hour.",
			params: []*Parameter{snapshotID, diskName},
			body:   &reqBody{content: []content{jsonBody[apiv1.LinkRequest](`{"format":"vhdx","expires_in":7200}`)}},
			answers: append([]answer{
				ok[apiv1.LinkCreated](201, "The link. Its secret (in `path`) is shown this once; the server keeps only its SHA-256.",
					`{"id":"l3f2a9c0d41be","snapshot":"18ed478cb53cc293327177d932540797","disk":"disk0.vhdx","format":"vhdx","host":"HV01","created":"2026-03-04T05:06:07Z","expires":"2026-03-04T07:06:07Z","created_by":"3f2a9c0d41bf","path":"/api/v1/snapshots/18ed478cb53cc293327177d932540797/disks/disk0.vhdx?format=vhdx&sig=svl_l3f2a9c0d41be_0c1d2e3f405162738495a6b7c8d9eaf00112233445566778"}`),
				fail(400, "An unknown format, an expires_in below 0 or above 7 days, or a disk too large for a VHD.", apiv1.CodeBadRequest),
				errJSONBody, errTooLarge,
			}, diskErrors()...),
		},
		{
			method: "GET", path: "/api/v1/links", id: "listLinks", tag: "restore", roles: []apiv1.Role{admin},
			summary: "List signed links",
			answers: []answer{ok[apiv1.LinkList](200, "The links that have not expired, without their secrets.",
				`{"links":[{"id":"l3f2a9c0d41be","snapshot":"18ed478cb53cc293327177d932540797","disk":"disk0.vhdx","format":"vhdx","host":"HV01","created":"2026-03-04T05:06:07Z","expires":"2026-03-04T07:06:07Z","created_by":"3f2a9c0d41bf"}]}`)},
		},
		{
			method: "DELETE", path: "/api/v1/links/{id}", id: "revokeLink", tag: "restore", roles: []apiv1.Role{admin},
			summary: "Revoke a signed link",
			params:  []*Parameter{linkID},
			answers: []answer{
				ok[apiv1.LinkRevoked](200, "The link is revoked.", `{"id":"l3f2a9c0d41be","revoked":true}`),
				fail(404, "No such link.", apiv1.CodeNotFound),
			},
		},

		// The dashboard.
		{
			method: "GET", path: "/ui", id: "dashboardRedirect", tag: "dashboard",
			summary: "Redirect to the dashboard",
			answers: []answer{{status: 301, desc: "To /ui/."}},
		},
		{
			method: "GET", path: "/ui/*", id: "dashboard", tag: "dashboard",
			summary: "The dashboard's pages",
			desc: "The static files of the web dashboard (/ui/ is its page; its scripts and style sheet beside it), embedded in the server. " +
				"They need no session: the page asks GET /ui/session and shows its login form without one. Every answer carries a " +
				"Content-Security-Policy without inline script, X-Frame-Options DENY, Referrer-Policy no-referrer and X-Content-Type-Options nosniff.",
			answers: []answer{
				{status: 200, desc: "The file.", content: []content{{mediaType: "text/html", schema: &Schema{Type: "string"}}}},
				{status: 404, desc: "No such file.", content: []content{{mediaType: "text/plain", schema: &Schema{Type: "string"}}}},
			},
		},
		{
			method: "POST", path: "/ui/login", id: "dashboardLogin", tag: "dashboard",
			summary: "Log in to the dashboard",
			desc: "Checks the token like the API does and opens a session: a random 256-bit ID in a cookie (shadowvault_session; HttpOnly, " +
				"SameSite=Strict, Path=/, Secure over TLS), kept in the server's memory. It ends after 12 h without a request, 24 h after login, " +
				"at logout, when its token is revoked, and when the server restarts. The token is only in this body: never in a URL, a page or a log line. " +
				"A form body (application/x-www-form-urlencoded, field token) is answered 303 to /ui/. A login from another origin is refused.",
			body: &reqBody{required: true, content: []content{jsonBody[apiv1.UILogin](`{"token":"svt_3f2a9c0d41be_0c1d2e3f405162738495a6b7c8d9eaf00112233445566778"}`)}},
			answers: []answer{
				ok[apiv1.UISession](200, "The session is open; the cookie is set.", uiSessionExample),
				{status: 303, desc: "A form login: the session is open, go to /ui/."},
				fail(401, "A wrong, revoked or missing token.", apiv1.CodeUnauthorized),
				fail(403, "An agent token (only admin and restore tokens log in), or a login from another origin.", apiv1.CodeForbidden, apiv1.CodeCSRFFailed),
				errJSONBody, errTooLarge,
			},
		},
		{
			method: "POST", path: "/ui/logout", id: "dashboardLogout", tag: "dashboard",
			summary: "Log out of the dashboard",
			desc:    "Ends the cookie's session (which needs its X-CSRF-Token) and clears the cookie. Without a session it only clears the cookie.",
			answers: []answer{
				{status: 204, desc: "Logged out."},
				fail(403, "The session's CSRF token is missing or wrong, or the request comes from another origin.", apiv1.CodeCSRFFailed),
			},
		},
		{
			method: "GET", path: "/ui/session", id: "dashboardSession", tag: "dashboard",
			summary: "The dashboard session of this browser",
			desc:    "Who the cookie's session is and its CSRF token (the page cannot read the HttpOnly cookie), or logged_in false without a live session.",
			answers: []answer{ok[apiv1.UISession](200, "The session, or logged_in false.", uiSessionExample)},
		},
	}, append(replicationOperations(), pushOperations()...)...)
}

// restoreOp is a restore, GET or HEAD.
func restoreOp(method string) op {
	o := op{
		method: method, path: "/api/v1/snapshots/{id}/disks/{name}", id: "restoreDisk", tag: "restore", roles: []apiv1.Role{admin, restore},
		summary: "Restore a snapshot disk",
		desc: "Streams the disk in the format asked for: `raw` (the default) is the virtual content, `original` the file exactly as it was uploaded " +
			"(for a differencing disk the child file alone, so it restores without its parent), `vhd` and `vhdx` the content in a new container " +
			"(a differencing disk merged with its parents). Content-Length is known before the first byte.\n\n" +
			"Every format answers HTTP Range requests (one range, `bytes=FIRST-LAST`, `bytes=FIRST-` or `bytes=-SUFFIX`): 206 with that range, or 416 when it " +
			"is not satisfiable (past the end, several ranges, malformed). A snapshot disk never changes and its VHD and VHDX are the same bytes every time, " +
			"so the answer carries a strong ETag: If-None-Match with it gets 304, and a Range under an If-Range of another value gets the whole file.\n\n" +
			"Instead of a bearer token, the `sig` query parameter may carry the secret of a signed link of this disk and format (see createLink).",
		params: []*Parameter{
			snapshotID, diskName,
			query("format", "The output format.", &Schema{Type: "string", Enum: []string{"raw", "original", "vhd", "vhdx"}, Default: "raw"}),
			query("sig", "The secret of a signed link (`svl_...`) of this disk and format, instead of a bearer token.", &Schema{Type: "string"}),
			{Name: "Range", In: "header", Description: "One byte range.", Schema: &Schema{Type: "string", Pattern: `^bytes=(\d+-\d*|-\d+)$`}},
			{Name: "If-None-Match", In: "header", Description: "An ETag of an earlier answer: 304 when it is this disk's.", Schema: &Schema{Type: "string"}},
			{Name: "If-Range", In: "header", Description: "The ETag a Range is valid for; another value gets the whole file.", Schema: &Schema{Type: "string"}},
		},
		answers: append([]answer{
			{status: 200, desc: "The whole disk.", content: []content{{mediaType: "application/octet-stream", schema: binary("")}},
				headers: map[string]*Header{"Content-Length": contentLength, "Content-Disposition": contentDisposition, "Accept-Ranges": acceptRanges, "ETag": etagHeader}},
			{status: 206, desc: "The range asked for.", content: []content{{mediaType: "application/octet-stream", schema: binary("")}},
				headers: map[string]*Header{
					"Content-Length": contentLength, "Content-Disposition": contentDisposition, "Accept-Ranges": acceptRanges, "ETag": etagHeader,
					"Content-Range": {Description: "`bytes FIRST-LAST/SIZE`.", Schema: &Schema{Type: "string"}},
				}},
			{status: 304, desc: "If-None-Match named this disk's ETag.", headers: map[string]*Header{"ETag": etagHeader}},
			fail(401, "The link in `sig` expired, or is unknown or revoked (or the token that made it is).", apiv1.CodeLinkExpired, apiv1.CodeUnauthorized),
			fail(403, "The link in `sig` is of another disk or format.", apiv1.CodeForbidden),
			{status: 416, desc: "The range is not satisfiable.", codes: []apiv1.Code{apiv1.CodeBadRange},
				headers: map[string]*Header{"Content-Range": {Description: "`bytes */SIZE`: the disk's size.", Schema: &Schema{Type: "string"}}}},
			fail(400, "An unknown format, or a disk too large for a VHD.", apiv1.CodeBadRequest),
		}, diskErrors()...),
	}
	if method == "HEAD" {
		o.id = "restoreDiskHead"
		o.summary = "The headers of a restore"
		o.desc = "Answers as GET would, headers only: the size (Content-Length), the file name (Content-Disposition), Accept-Ranges, the ETag, and Content-Range for a Range."
	}
	return o
}

// receiptExample is a receipt a server signed.
const receiptExample = `{"session":"18ed478cb1ca1883610761d1ea245fa2","snapshot":"18ed478cb53cc293327177d932540797","host":"HV01","vm":"FS02",
"backup_type":"copy","consistency":"crash","truncate_logs":false,
"disks":[{"name":"disk0.raw","format":"raw","virtual_size":1048576,"stream_bytes":1048576,"stream_blake3":"af2548281f0b07d1a912504ee769e9326d4a11e0a6dc57fed5214909d8a57127","new_bytes":1048576,"stored_bytes":1048576},
{"name":"disk1.raw","format":"raw","virtual_size":524288,"stream_bytes":524288,"stream_blake3":"ecd569102e80a30e921f7220dbb4ad28c3fab13206398ad888069a4d92083b5a","new_bytes":524288,"stored_bytes":524288}],
"committed_at":"2026-12-02T00:14:56Z","signature":"f836344c1a2da3bb84a573de50411642ebacea9730c32f2facb6c02ad60a81c6fa8ee520de3f9a581937e8dc26bc36f0061996413f455912db7ccbd05108030c"}`

var (
	contentLength      = &Header{Description: "The body's size in bytes.", Schema: &Schema{Type: "integer"}}
	contentDisposition = &Header{Description: "`attachment; filename=\"...\"`: the disk's name, or for `vhd` and `vhdx` its name with that extension.", Schema: &Schema{Type: "string"}}
	acceptRanges       = &Header{Description: "`bytes`: every format serves ranges.", Schema: &Schema{Type: "string"}}
	etagHeader         = &Header{Description: "A strong ETag of this snapshot disk in this format.", Schema: &Schema{Type: "string"}}
)

const uiSessionExample = `{"logged_in":true,"role":"admin","token_id":"3f2a9c0d41be","read_only":false,` +
	`"csrf_token":"9b1c0e6f3a2d4b5c8e7f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5","created":"2026-03-04T05:06:07Z",` +
	`"expires":"2026-03-04T17:06:07Z","idle_seconds":43200,"max_seconds":86400}`
