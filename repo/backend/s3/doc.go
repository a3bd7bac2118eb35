// Package s3 keeps a shadowvault repository in an S3-compatible bucket
// (AWS S3, MinIO, and others), through minio-go.
//
// Every object lives at <prefix>/<type>/<name> in one bucket, so several
// repositories can share a bucket under different prefixes. Put is a
// PutObject with the size known in advance: small objects go up in one
// request, larger ones (16 MiB packs) as a multipart upload whose parts are
// read straight from the caller's reader, so memory stays bounded by the part
// size however many uploads run at once. ReadAt is a ranged GetObject, Stat a
// StatObject, List a recursive listing of the type's prefix and Remove a
// RemoveObject.
//
// S3 errors are translated once, here, into the sentinels of package backend
// (ErrNotFound, ErrInvalidRange, ErrPermission, ErrTransient); the original
// error stays in the chain for logs. The client does not retry by itself:
// wrap the backend with package retry for that, so that exactly one layer
// decides how often and how long to try.
//
// The HTTP transport bounds the connections to the server (Config.MaxConns)
// and times out dialling, TLS handshakes and waiting for response headers,
// so a server that refuses or stops answering fails the call instead of
// hanging it. Every call also honours its context.
package s3
