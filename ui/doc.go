// Package ui is shadowvault's web dashboard: the static files of a
// single-page application (embedded, served under /ui/ with strict
// security headers) and the server-side sessions a browser holds after
// logging in with a token.
//
// A session is a random 256-bit ID in an HttpOnly, SameSite=Strict cookie;
// it names the token it was opened with (by the token's ID, never its
// secret) and carries a CSRF token of its own, which every unsafe request
// made with the cookie must present in the X-CSRF-Token header. Sessions
// live in memory: they end after an idle time or an absolute lifetime, at
// logout, when their token is revoked, and when the server restarts.
//
// The package knows nothing of tokens or repositories: package api checks
// the token at login, opens the session here, and accepts the cookie as an
// alternative to a bearer token.
package ui
