// Package backendtest is the conformance suite every shadowvault backend
// passes: mem, local and s3 (against a real MinIO). Run it from a backend's
// tests with Run.
package backendtest
