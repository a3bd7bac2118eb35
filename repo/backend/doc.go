// Package backend declares where a shadowvault repository keeps its objects.
//
// A repository is a flat set of immutable objects, each named by a Handle:
// a Type (config, pack, diskmap, snapshot) and a Name (usually the hex
// BLAKE3 of the object's bytes). A Backend stores, reads, lists and removes
// them. Implementations live in sub-packages (local, mem, s3) and translate
// their own errors into the sentinels of this package at their edge, so that
// callers can use errors.Is.
//
// Put is the durability point: when it returns nil, the object survives a
// crash of the process and of the machine (local: temp file, fsync, close,
// rename, fsync of the directory; S3: the PUT succeeded). Objects are never
// modified after Put; a second Put of the same handle replaces it atomically.
package backend
